//! Charts for reports, drawn by the charts-rs library as inline SVG: no scripts, no fonts or
//! images to fetch, readable on paper. Text is measured with the library's built-in Roboto
//! metrics and shown in Roboto where the reader has it, else in a sans-serif of the same size.

use charts_rs::{
    Align, BarChart, ChartBase, GanttChart, GanttTask, HeatmapChart, HorizontalBarChart, LineChart,
    PieChart, Series, SeriesCategory, Symbol,
};

/// One chart: a kind, a title and its data, rendered to SVG when the page is written.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Vertical bars per category; several series side by side, or stacked.
    Bars {
        /// Title above the chart.
        title: String,
        /// Category labels (x axis).
        categories: Vec<String>,
        /// Named series, one value per category.
        series: Vec<(String, Vec<f64>)>,
        /// Stack the series instead of placing them side by side.
        stacked: bool,
        /// A reference line at a value, with its label (e.g. the capacity line).
        line: Option<(String, f64)>,
    },
    /// Horizontal bars: one bar per category (long labels read better); several series are
    /// stacked.
    HorizontalBars {
        /// Title above the chart.
        title: String,
        /// Category labels (y axis).
        categories: Vec<String>,
        /// Named series, one value per category.
        series: Vec<(String, Vec<f64>)>,
        /// The series' colours (hex), in order; empty: the default palette.
        colours: Vec<&'static str>,
    },
    /// A grid coloured by value (people by month, say).
    Heatmap {
        /// Title above the chart.
        title: String,
        /// Column labels.
        columns: Vec<String>,
        /// Row labels.
        rows: Vec<String>,
        /// (column, row, value) cells; absent cells stay empty.
        cells: Vec<(usize, usize, f64)>,
    },
    /// Shares of a whole.
    Pie {
        /// Title above the chart.
        title: String,
        /// (label, value) slices.
        slices: Vec<(String, f64)>,
    },
    /// A timeline (a roadmap): bars over days per row, milestones on the rows, and today.
    Timeline {
        /// Title above the chart.
        title: String,
        /// (row, first day, last day, category) bars; days are day numbers
        /// (`tollgate_dmo::calendar`). A category is a colour and a legend entry.
        bars: Vec<(String, i64, i64, String)>,
        /// (row, day, category) milestones, drawn as diamonds.
        milestones: Vec<(String, i64, String)>,
        /// Today, a dashed line across.
        today: i64,
    },
    /// Lines over ordered categories (periods).
    Lines {
        /// Title above the chart.
        title: String,
        /// Periods (x axis).
        categories: Vec<String>,
        /// Named series; `None` where a period has no value.
        series: Vec<(String, Vec<Option<f64>>)>,
    },
}

fn series(name: &str, values: &[f64]) -> Series {
    Series::new(name.to_string(), values.iter().map(|v| *v as f32).collect())
}

/// Size, title and legend place, the same for every kind.
fn dress(base: &mut ChartBase, width: f32, height: f32, title: &str) {
    base.width = width;
    base.height = height;
    base.title.text = title.to_string();
    base.legend.align = Align::Right;
}

/// The rows a timeline draws at most: as many as its greatest height holds at a readable
/// size ([`height_for`]); the table beside it lists them all.
const TIMELINE_ROWS: usize = 30;

fn height_for(rows: usize) -> f32 {
    (110 + 28 * rows).clamp(220, 900) as f32
}

/// A chart drawn: its `<svg>` element, written with a font list that falls back from the
/// library's Roboto (a chart can be megabytes: the cumulative demand's at 10,000 initiatives
/// is 1.6 MB; written, not copied to change its fonts), or a short note where the library
/// could not draw it.
pub struct Drawn(Result<String, String>);

impl std::fmt::Display for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Ok(svg) => {
                for (i, part) in svg.split("font-family=\"Roboto\"").enumerate() {
                    if i > 0 {
                        f.write_str("font-family=\"Roboto, Arial, Helvetica, sans-serif\"")?;
                    }
                    f.write_str(part)?;
                }
                Ok(())
            }
            Err(e) => write!(f, "<p class=\"note\">(no chart: {e})</p>"),
        }
    }
}

impl Chart {
    /// The chart as an `<svg>` element, or a short note when the library cannot draw it
    /// (e.g. no data): a report is never lost to a chart.
    pub fn svg(&self) -> Drawn {
        let drawn = match self {
            Chart::Bars {
                title,
                categories,
                series: list,
                stacked,
                line,
            } => {
                let mut list: Vec<Series> = list.iter().map(|(n, v)| series(n, v)).collect();
                if *stacked {
                    for s in &mut list {
                        s.stack = Some("all".into());
                    }
                }
                if let Some((name, value)) = line {
                    let mut s = series(name, &vec![*value; categories.len()]);
                    s.category = Some(SeriesCategory::Line);
                    s.stroke_dash_array = Some("6,3".into());
                    s.symbol = Some(Symbol::None);
                    list.push(s);
                }
                let mut c = BarChart::new(list, categories.clone());
                let width = (160 + 70 * categories.len()).clamp(480, 960) as f32;
                dress(&mut c, width, 340.0, title);
                c.svg()
            }
            Chart::HorizontalBars {
                title,
                categories,
                series: list,
                colours,
            } => {
                let stacked = list.len() > 1;
                let list: Vec<Series> = list
                    .iter()
                    .map(|(n, v)| {
                        // Zeros as gaps: no empty segment and no "0" label in a stack.
                        let mut s = Series::new(n.clone(), Vec::new());
                        s.data = v
                            .iter()
                            .map(|v| (*v != 0.0 || !stacked).then_some(*v as f32))
                            .collect();
                        s.label_show = true;
                        if stacked {
                            s.stack = Some("all".into());
                        }
                        s
                    })
                    .collect();
                let mut c = HorizontalBarChart::new(list, categories.clone());
                if !colours.is_empty() {
                    c.series.colors = colours
                        .iter()
                        .map(|hex| charts_rs::Color::from(*hex))
                        .collect();
                }
                dress(&mut c, 720.0, height_for(categories.len()), title);
                c.svg()
            }
            Chart::Heatmap {
                title,
                columns,
                rows,
                cells,
            } => {
                let data = cells
                    .iter()
                    .map(|(x, y, v)| (y * columns.len() + x, *v as f32))
                    .collect();
                let mut c = HeatmapChart::new(data, columns.clone(), rows.clone());
                // Percent of a person's time, in classes that diverge at the reserve line:
                // blues with time to spare, yellow above the line (no reserve), red above 100 %
                // (over-allocated). HEATMAP_LEGEND says the same in words.
                c.heatmap_series.min = 0.0;
                c.heatmap_series.max = cells.iter().map(|c| c.2 as f32).fold(120.0, f32::max);
                c.heatmap_series.thresholds = vec![50.0, 80.5, 100.5];
                c.heatmap_series.colors = HEATMAP_COLOURS
                    .iter()
                    .map(|hex| charts_rs::Color::from(*hex))
                    .collect();
                let width = (160 + 80 * columns.len()).clamp(480, 1100) as f32;
                dress(&mut c, width, height_for(rows.len()), title);
                c.svg()
            }
            Chart::Pie { title, slices } => {
                let list = slices
                    .iter()
                    .map(|(label, v)| {
                        let mut s = series(label, &[*v]);
                        s.label_show = true;
                        s
                    })
                    .collect();
                let mut c = PieChart::new(list);
                dress(&mut c, 760.0, 380.0, title);
                c.rose_type = Some(false);
                c.inner_radius = 0.0;
                c.radius = 120.0;
                c.svg()
            }
            Chart::Timeline {
                title,
                bars,
                milestones,
                today,
            } => {
                let seconds = |day: i64| (day * 86_400) as f64;
                // The first rows, in the order given (the table's): past them a row would be
                // thinner than a line of text (the chart is at most 900 pixels high), and at
                // 10,000 rows the drawing took a 16 MB canvas for a picture nobody could read.
                let mut rows: Vec<&str> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for row in bars
                    .iter()
                    .map(|b| b.0.as_str())
                    .chain(milestones.iter().map(|m| m.0.as_str()))
                {
                    if seen.insert(row) {
                        rows.push(row);
                    }
                }
                let total = rows.len();
                let shown = &rows[..total.min(TIMELINE_ROWS)];
                let title = if total > shown.len() {
                    format!(
                        "{title} (the first {} of {total}, as the table lists them)",
                        shown.len()
                    )
                } else {
                    title.clone()
                };
                let mut tasks: Vec<GanttTask> = bars
                    .iter()
                    .filter(|b| shown.contains(&b.0.as_str()))
                    .map(|(row, first, last, category)| GanttTask {
                        name: category.clone(),
                        start: seconds(*first),
                        end: seconds(*last + 1),
                        row: Some(row.clone()),
                        category: Some(category.clone()),
                        ..Default::default()
                    })
                    .collect();
                tasks.extend(
                    milestones
                        .iter()
                        .filter(|m| shown.contains(&m.0.as_str()))
                        .map(|(row, day, category)| GanttTask {
                            name: category.clone(),
                            start: seconds(*day),
                            end: seconds(*day),
                            row: Some(row.clone()),
                            category: Some(category.clone()),
                            ..Default::default()
                        }),
                );
                let mut c = GanttChart::new(tasks);
                c.label_show = false;
                c.now = Some(seconds(*today));
                dress(&mut c, 1100.0, height_for(shown.len()) + 40.0, &title);
                c.svg()
            }
            Chart::Lines {
                title,
                categories,
                series: list,
            } => {
                let list = list
                    .iter()
                    .map(|(n, v)| {
                        let mut s = Series::new(n.clone(), Vec::new());
                        s.data = v.iter().map(|v| v.map(|v| v as f32)).collect();
                        s
                    })
                    .collect();
                let mut c = LineChart::new(list, categories.clone());
                let width = (160 + 80 * categories.len()).clamp(480, 960) as f32;
                dress(&mut c, width, 320.0, title);
                c.svg()
            }
        };
        Drawn(drawn.map_err(|e| e.to_string()))
    }

    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            Chart::Bars { title, .. }
            | Chart::Timeline { title, .. }
            | Chart::HorizontalBars { title, .. }
            | Chart::Heatmap { title, .. }
            | Chart::Pie { title, .. }
            | Chart::Lines { title, .. } => title,
        }
    }
}

/// The heat map's classes, from the least to the most allocated.
pub const HEATMAP_COLOURS: [&str; 4] = ["#2b6cb0", "#9ec5e8", "#f6c85f", "#d64545"];

/// Severities' colours, blocker to info: the darkest red for what contradicts a decision
/// taken, grey for information.
pub const SEVERITY_COLOURS: [&str; 4] = ["#7f1d1d", "#d64545", "#f6c85f", "#9aa5b1"];

/// The heat map's colours in words, for its caption and the table's note.
pub const HEATMAP_LEGEND: &str = "Colours: dark blue up to 50 %, light blue up to 80 % (time to spare), yellow above 80 % up to 100 % (no reserve left for the unplanned), red above 100 % (over-allocated).";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_draws_an_svg_with_its_labels() {
        let charts = [
            Chart::Bars {
                title: "Streams".into(),
                categories: vec!["Retail banking".into(), "Enterprise data".into()],
                series: vec![
                    ("to do".into(), vec![2.0, 1.0]),
                    ("done".into(), vec![4.0, 0.0]),
                ],
                stacked: true,
                line: Some(("capacity".into(), 5.0)),
            },
            Chart::HorizontalBars {
                title: "Rules".into(),
                categories: vec!["GATE-001".into(), "FIN-003".into()],
                series: vec![("open".into(), vec![3.0, 7.0])],
                colours: Vec::new(),
            },
            Chart::HorizontalBars {
                title: "Rules by severity".into(),
                categories: vec!["GATE-001".into(), "FIN-003".into()],
                series: vec![
                    ("error".into(), vec![3.0, 0.0]),
                    ("warning".into(), vec![1.0, 7.0]),
                ],
                colours: SEVERITY_COLOURS[1..3].to_vec(),
            },
            Chart::Heatmap {
                title: "People".into(),
                columns: vec!["2026-01".into(), "2026-02".into()],
                rows: vec!["p-aino".into()],
                cells: vec![(0, 0, 110.0), (1, 0, 60.0)],
            },
            Chart::Pie {
                title: "Mix".into(),
                slices: vec![("Capability planning".into(), 3.0), ("Ideas".into(), 1.0)],
            },
            Chart::Timeline {
                title: "Roadmap".into(),
                bars: vec![("BIZ-1 Cards".into(), 20_454, 20_634, "G3".into())],
                milestones: vec![
                    ("BIZ-1 Cards".into(), 20_400, "G2 go".into()),
                    ("BIZ-1 Cards".into(), 20_700, "next gate due".into()),
                ],
                today: 20_600,
            },
            Chart::Lines {
                title: "KPI".into(),
                categories: vec!["2026-Q1".into(), "2026-Q2".into()],
                series: vec![("Retail banking".into(), vec![Some(1.0), None])],
            },
        ];
        for c in charts {
            let svg = c.svg().to_string();
            assert!(svg.starts_with("<svg"), "{}: {svg}", c.title());
            assert!(svg.contains(c.title()), "{}", c.title());
            assert!(svg.contains("sans-serif"));
            assert!(
                !svg.contains("font-family=\"Roboto\""),
                "{}: every font list falls back from Roboto",
                c.title()
            );
        }
    }

    #[test]
    fn a_timeline_draws_its_first_rows_and_says_how_many_there_are() {
        // `rows` rows with a bar each, then one with only a milestone (a row too).
        let timeline = |rows: usize, milestone: bool| Chart::Timeline {
            title: "Roadmap".into(),
            bars: (0..rows)
                .map(|n| (format!("BIZ-{n}"), 20_400 + n as i64, 20_500, "G2".into()))
                .collect(),
            milestones: milestone
                .then(|| (format!("BIZ-{rows}"), 20_450, "next gate due".into()))
                .into_iter()
                .collect(),
            today: 20_450,
        };
        let all = timeline(TIMELINE_ROWS - 1, true).svg().to_string();
        assert!(all.contains(">\nRoadmap\n<"), "{all}");
        assert!(all.contains("next gate due"), "{all}");
        let many = timeline(10 * TIMELINE_ROWS, true).svg().to_string();
        assert!(
            many.contains(&format!(
                ">\nRoadmap (the first {TIMELINE_ROWS} of {}, as the table lists them)\n<",
                10 * TIMELINE_ROWS + 1
            )),
            "{many}"
        );
        // The same shapes as a chart of just those rows: the milestone's row, last, is not
        // drawn.
        let first = timeline(TIMELINE_ROWS, false).svg().to_string();
        let shapes = |svg: &str| svg.matches("<rect").count() + svg.matches("<path").count();
        assert_eq!(shapes(&many), shapes(&first), "{many}");
        assert!(!many.contains("next gate due"), "{many}");
    }

    #[test]
    fn the_heat_map_diverges_at_the_reserve_line() {
        let c = Chart::Heatmap {
            title: "People".into(),
            columns: vec!["2026-01".into(), "2026-02".into(), "2026-03".into()],
            rows: vec!["Aino Laine (p-aino)".into()],
            cells: vec![(0, 0, 110.0), (1, 0, 90.0), (2, 0, 60.0)],
        };
        let svg = c.svg().to_string().to_lowercase();
        for (hex, what) in [
            ("d64545", "over-allocated in red"),
            ("f6c85f", "no reserve in yellow"),
            ("9ec5e8", "spare time in light blue"),
        ] {
            let rgb = charts_rs::Color::from(&*format!("#{hex}"));
            let shown = format!("rgb({},{},{})", rgb.r, rgb.g, rgb.b);
            assert!(svg.contains(hex) || svg.contains(&shown), "{what}: {svg}");
        }
    }

    #[test]
    fn a_chart_without_data_is_a_note_not_a_failure() {
        let c = Chart::Heatmap {
            title: "Nobody".into(),
            columns: vec![],
            rows: vec![],
            cells: vec![],
        };
        assert!(
            c.svg()
                .to_string()
                .starts_with("<p class=\"note\">(no chart")
        );
    }
}
