//! A report as Markdown, HTML (one self-contained file, charts inline) and CSV; text from
//! the trackers is shown, never run.

#[allow(unused_imports)]
use super::*;

/// The pack as Markdown.
pub fn markdown(pack: &Report) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail.
    let _ = write_markdown_page(pack, &mut out);
    out
}

/// The pack as Markdown, written to `out` as it is made (see [`write_html`]).
pub fn write_markdown(pack: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    onto_io(out, |adapter| write_markdown_page(pack, adapter))
}

fn write_markdown_page(pack: &Report, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    write!(
        out,
        "# {}\n\n{}Next steering: {}.{}\n",
        pack.title,
        pack.stale
            .as_ref()
            .map(|b| format!("> **{}**\n\n", md_text(b)))
            .unwrap_or_default(),
        pack.next_steering,
        pack.previous_pack
            .as_ref()
            .map(|p| format!(" Previous pack: {p}."))
            .unwrap_or_default()
    )?;
    if let Some(note) = &pack.officer_note {
        write!(out, "\n## Officer's note\n\n{}\n", md_text(note))?;
    }
    for t in &pack.tables {
        write!(out, "\n## {}\n\n{}\n\n", t.title, md_text(&t.note))?;
        if t.rows.is_empty() {
            out.write_str("None.\n")?;
            continue;
        }
        write!(
            out,
            "| {} |\n|{}\n",
            t.columns.join(" | "),
            "---|".repeat(t.columns.len())
        )?;
        for r in &t.rows {
            out.write_str("|")?;
            for c in r {
                write!(out, " {} |", md_text(c).replace('\n', "<br>"))?;
            }
            out.write_str("\n")?;
        }
    }
    Ok(())
}

/// Text from the trackers and files as Markdown that shows it and does nothing else: no HTML
/// (`<`, `>` as entities), no links or images (`[`, `]` escaped), no table breaks (`|`), no
/// control characters.
pub fn md_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '[' | ']' | '|' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push('\n'),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell a spreadsheet shows as text instead of evaluating (OWASP's advice on CSV
/// injection): one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return, and is not
/// a plain number, gets a leading `'`.
pub fn spreadsheet_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.chars().next().is_some_and(|c| {
        matches!(
            c,
            '=' | '+' | '-' | '@' | '\t' | '\r' | '＝' | '＋' | '－' | '＠'
        )
    });
    let number = cell.trim().parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Text for HTML: `&`, `<`, `>` and `"` escaped.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The pack as one self-contained HTML file (no scripts, no external resources).
pub fn html(pack: &Report) -> String {
    html_page(pack, None, "")
}

/// The page's style, shared by the report file and the dashboard.
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#1d2733}table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #c9d1da;padding:.3rem .5rem;vertical-align:top;text-align:left}th{background:#eef2f6}td.num{text-align:right}td.hot{background:#f7c6c0}td.warm{background:#fbe3b5}p.note{color:#4a5866;max-width:60rem}nav a{margin-right:1rem}figure.chart{margin:.5rem 0}figure.chart svg{max-width:100%;height:auto}figcaption{color:#4a5866;font-size:.85rem}p.banner{padding:.6rem .8rem;border-left:.35rem solid #b3261e;background:#fbe9e7;font-weight:600;max-width:60rem}p.banner.filtered{border-left-color:#2b6cb0;background:#e8f0fa;font-weight:400}form#filters{margin:.5rem 0 1rem}form#filters label{margin-right:.8rem}@media print{form#filters{display:none}@page{size:A4 landscape;margin:12mm}body{margin:0;font-size:9pt}nav{display:none}section{break-before:page}section:first-of-type{break-before:auto}table{width:100%}th,td{word-break:normal;overflow-wrap:anywhere}tr{break-inside:avoid}p.note{max-width:none}}";

/// The pack as HTML; with `initiative_links` (e.g. `/initiatives/`), initiative keys link
/// to that path (the dashboard); `nav` goes first in the body.
pub fn html_page(pack: &Report, initiative_links: Option<&str>, nav: &str) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail.
    let _ = write_html_page(pack, initiative_links, nav, &mut out);
    out
}

/// The pack as one self-contained HTML file, written to `out` as it is made: at 10,000
/// initiatives the page is ~25 MB, which `html` would hold whole on top of the pack.
pub fn write_html(pack: &Report, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    write_html_to(pack, None, "", out)
}

/// [`html_page`], written to `out` as it is made (the dashboard's pages).
pub fn write_html_to(
    pack: &Report,
    initiative_links: Option<&str>,
    nav: &str,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    onto_io(out, |adapter| {
        write_html_page(pack, initiative_links, nav, adapter)
    })
}

/// Run `write` with a `fmt::Write` onto `out`, keeping the I/O error `fmt::Error` cannot
/// carry.
fn onto_io(
    out: &mut dyn std::io::Write,
    write: impl FnOnce(&mut Adapter<'_>) -> std::fmt::Result,
) -> std::io::Result<()> {
    let mut adapter = Adapter { out, error: None };
    write(&mut adapter).map_err(|_| {
        adapter
            .error
            .take()
            .unwrap_or_else(|| std::io::Error::other("formatting the report failed"))
    })
}

/// `fmt::Write` onto an `io::Write` (see [`onto_io`]).
struct Adapter<'a> {
    out: &'a mut dyn std::io::Write,
    error: Option<std::io::Error>,
}

impl std::fmt::Write for Adapter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.out.write_all(s.as_bytes()).map_err(|e| {
            self.error = Some(e);
            std::fmt::Error
        })
    }
}

/// The pack as HTML onto `out` (see [`html_page`]).
fn write_html_page(
    pack: &Report,
    initiative_links: Option<&str>,
    nav: &str,
    out: &mut impl std::fmt::Write,
) -> std::fmt::Result {
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>{STYLE}</style></head>\n<body>\n{nav}<h1>{title}</h1>\n{banner}<p>Next steering: {next}.{prev}</p>\n",
        title = esc(&pack.title),
        banner = pack
            .stale
            .as_ref()
            .map(|b| format!("<p class=\"banner stale\" role=\"alert\">{}</p>\n", esc(b)))
            .unwrap_or_default(),
        next = esc(&pack.next_steering),
        prev = pack
            .previous_pack
            .as_ref()
            .map(|p| format!(" Previous pack: {}.", esc(p)))
            .unwrap_or_default()
    )?;
    if let Some(note) = &pack.officer_note {
        out.write_str("<section id=\"officer-note\">\n<h2>Officer's note</h2>\n")?;
        for para in note.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
            writeln!(out, "<p>{}</p>", esc(para))?;
        }
        out.write_str("</section>\n")?;
    }
    for t in &pack.tables {
        write!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>\n<p class=\"note\">{}</p>\n",
            t.name,
            esc(t.title),
            esc(&t.note)
        )?;
        if t.rows.is_empty() {
            out.write_str("<p>None.</p>\n</section>\n")?;
            continue;
        }
        if let Some(chart) = &t.chart {
            writeln!(
                out,
                "<figure class=\"chart\" id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>",
                t.name,
                chart.svg(),
                esc(chart.title())
            )?;
        }
        out.write_str("<table>\n<thead><tr>")?;
        for c in &t.columns {
            write!(out, "<th>{}</th>", esc(c))?;
        }
        out.write_str("</tr></thead>\n<tbody>\n")?;
        for r in &t.rows {
            out.write_str("<tr>")?;
            for (i, cell) in r.iter().enumerate() {
                let number = cell
                    .trim_end_matches(" %")
                    .replace(['−', ' '], "")
                    .parse::<f64>()
                    .ok();
                let class = match (t.name, number) {
                    ("resource-heat-map", Some(v)) if i > 0 && v > 100.0 => " class=\"num hot\"",
                    ("resource-heat-map", Some(v)) if i > 0 && v > RESERVE_LINE => {
                        " class=\"num warm\""
                    }
                    (_, Some(_)) => " class=\"num\"",
                    _ => "",
                };
                let text = if t.columns.get(i) == Some(&"link") && !cell.is_empty() {
                    format!("<a href=\"{0}\">{0}</a>", esc(cell))
                } else if let (Some(base), Some(&"initiative")) =
                    (initiative_links, t.columns.get(i))
                {
                    format!("<a href=\"{base}{0}\">{0}</a>", esc(cell))
                } else {
                    keep_numbers_whole(&esc(cell)).replace('\n', "<br>")
                };
                write!(out, "<td{class}>{text}</td>")?;
            }
            out.write_str("</tr>\n")?;
        }
        out.write_str("</tbody></table>\n</section>\n")?;
    }
    out.write_str("</body></html>\n")
}

/// Spaces inside a number or between a number and its unit ("−60 000 EUR", "8.0 %") as
/// no-break spaces, so a narrow column never breaks an amount over two lines.
fn keep_numbers_whole(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let digit_before = i > 0 && chars[i - 1].is_ascii_digit();
            let after = chars.get(i + 1).copied().unwrap_or(' ');
            if *c == ' '
                && digit_before
                && (after.is_ascii_digit() || after.is_ascii_uppercase() || after == '%')
            {
                '\u{a0}'
            } else {
                *c
            }
        })
        .collect()
}

/// One table as CSV. A row whose cells do not match the columns is an error naming the table
/// and the row, never a row left out of the file in silence.
pub fn csv(table: &Table) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    write_csv(table, &mut bytes)?;
    String::from_utf8(bytes).map_err(std::io::Error::other)
}

/// [`csv`] written to `out` as it is made.
pub fn write_csv(table: &Table, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut w = ::csv::Writer::from_writer(out);
    // The writer's own error (a full disk) as it is; a row of the wrong length named.
    let failed = |row: usize, e: ::csv::Error| {
        let text = e.to_string();
        match e.into_kind() {
            ::csv::ErrorKind::Io(e) => e,
            _ => std::io::Error::other(format!("table {}, row {row}: {text}", table.name)),
        }
    };
    w.write_record(&table.columns).map_err(|e| failed(0, e))?;
    for (n, r) in table.rows.iter().enumerate() {
        w.write_record(r.iter().enumerate().map(|(i, c)| {
            table
                .plain_cell(i, c)
                .unwrap_or_else(|| spreadsheet_safe(c).into_owned())
        }))
        .map_err(|e| failed(n + 1, e))?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pack with every part the page shows: a banner, a note, a chart, links and text
    /// from a tracker that must stay text.
    fn pack() -> Report {
        Report {
            kind: "steering",
            title: "Steering pack, 2026-11-27".into(),
            as_of: "2026-11-27".into(),
            next_steering: "2026-12-11".into(),
            previous_pack: Some("2026-11-13".into()),
            stale: Some("Jira's last sync failed <b>".into()),
            officer_note: Some("First.\n\nSecond & last.".into()),
            tables: vec![Table {
                name: "roadmap",
                title: "Roadmap",
                note: "Open initiatives.".into(),
                columns: vec!["initiative", "title", "link", "cost"],
                rows: vec![
                    vec![
                        "BIZ-1",
                        "<script>alert(1)</script>",
                        "https://jira.example/browse/BIZ-1",
                        "−60 000 EUR",
                    ];
                    3
                ]
                .into(),
                chart: Some(Chart::Bars {
                    title: "Cost".into(),
                    categories: vec!["BIZ-1".into()],
                    series: vec![("cost".into(), vec![60_000.0])],
                    stacked: false,
                    line: None,
                }),
            }],
        }
    }

    #[test]
    fn the_page_written_as_it_is_made_is_the_page() {
        let pack = pack();
        let mut written = Vec::new();
        write_html(&pack, &mut written).unwrap();
        let page = html(&pack);
        assert_eq!(String::from_utf8(written).unwrap(), page);
        assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));
        assert!(page.contains("<svg") && page.ends_with("</body></html>\n"));
    }

    #[test]
    fn a_failed_write_is_the_writers_error() {
        /// Takes 100 bytes, then the disk is full.
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 + buf.len() > 100 {
                    return Err(std::io::Error::from(std::io::ErrorKind::StorageFull));
                }
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let e = write_html(&pack(), &mut Full(0)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
    }

    #[test]
    fn a_table_as_csv_has_every_row_or_says_which_one_it_cannot_write() {
        let mut table = pack().tables.remove(0);
        let text = csv(&table).unwrap();
        assert_eq!(text.lines().count(), 4, "the header and three rows: {text}");
        assert!(text.starts_with("initiative,title,link,cost\n"));
        let mut rows = table.rows.to_vecs();
        rows[1].pop();
        table.rows = rows.into();
        let e = csv(&table).unwrap_err().to_string();
        assert!(e.starts_with("table roadmap, row 2: "), "{e}");
    }

    #[test]
    fn amounts_do_not_break_over_lines() {
        assert_eq!(
            keep_numbers_whole("NPV (−60 000 EUR) at 8.0 %, 3 items"),
            "NPV (−60\u{a0}000\u{a0}EUR) at 8.0\u{a0}%, 3 items"
        );
    }

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_text() {
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://evil\",\"x\")",
                "'=HYPERLINK(\"http://evil\",\"x\")",
            ),
            ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("＝1+1", "'＝1+1"),
            ("-3", "-3"),
            ("-1234.5", "-1234.5"),
            ("BIZ-7", "BIZ-7"),
            ("", ""),
        ] {
            assert_eq!(spreadsheet_safe(cell), safe, "{cell}");
        }
    }

    #[test]
    fn markdown_shows_tracker_text_and_runs_none_of_it() {
        let t = md_text(
            "<script>alert(1)</script> [x](javascript:alert(1)) ![p](http://t/p.png) a|b \x1b[31m",
        );
        assert!(
            !t.contains('<') && !t.contains('>') && !t.contains('\x1b'),
            "{t}"
        );
        assert!(
            t.contains("\\[x\\](javascript") && t.contains("a\\|b"),
            "{t}"
        );
    }
}
