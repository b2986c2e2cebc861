//! A table's rows: every cell's text one after another in one buffer.
//!
//! The steering pack at 10,000 initiatives has 370,000 cells of 31 bytes on average. As a
//! `Vec<Vec<String>>` each cell was its own allocation (24 bytes for the `String`, 32 or
//! more for its text with the allocator's header), about 25 MB for 11.6 MB of text, held
//! while the pack was built and written. Here a cell is its text and the offset of its end.

use std::ops::Index;

/// A table's rows, in order. Rows may differ in length (a table checks its own shape where it
/// is written: see `render::write_csv`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rows {
    text: String,
    /// Where each cell ends in `text`.
    cell_ends: Vec<usize>,
    /// Where each row ends in `cell_ends`.
    row_ends: Vec<usize>,
}

/// One row of [`Rows`]: its cells, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    text: &'a str,
    /// Where the row's first cell starts in `text`.
    start: usize,
    /// Where each of its cells ends in `text`.
    ends: &'a [usize],
}

impl Rows {
    /// No rows.
    pub fn new() -> Rows {
        Rows::default()
    }

    /// Add a row of `cells`.
    pub fn push<S: AsRef<str>>(&mut self, cells: impl IntoIterator<Item = S>) {
        for cell in cells {
            self.text.push_str(cell.as_ref());
            self.cell_ends.push(self.text.len());
        }
        self.row_ends.push(self.cell_ends.len());
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    /// The row at `i`.
    pub fn get(&self, i: usize) -> Option<Row<'_>> {
        let end = *self.row_ends.get(i)?;
        let first = if i == 0 { 0 } else { self.row_ends[i - 1] };
        let start = if first == 0 {
            0
        } else {
            self.cell_ends[first - 1]
        };
        Some(Row {
            text: &self.text,
            start,
            ends: &self.cell_ends[first..end],
        })
    }

    /// The last row.
    pub fn last(&self) -> Option<Row<'_>> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    /// Every row, in order.
    pub fn iter(&self) -> RowsIter<'_> {
        RowsIter {
            rows: self,
            at: 0..self.len(),
        }
    }

    /// Remove every row.
    pub fn clear(&mut self) {
        *self = Rows::default();
    }

    /// Keep only the rows `keep` is true of, in their order.
    pub fn retain(&mut self, mut keep: impl FnMut(Row<'_>) -> bool) {
        let mut kept = Rows::default();
        for row in self.iter() {
            if keep(row) {
                kept.push(row.iter());
            }
        }
        *self = kept;
    }

    /// The rows as lists of texts (for a test, or a caller that edits them).
    pub fn to_vecs(&self) -> Vec<Vec<String>> {
        self.iter().map(|r| r.to_vec()).collect()
    }
}

impl<'a> Row<'a> {
    /// How many cells it has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it has none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The cell at `i`.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { self.start } else { self.ends[i - 1] };
        Some(&self.text[start..end])
    }

    /// Its cells, in order.
    pub fn iter(&self) -> Cells<'a> {
        Cells {
            row: *self,
            at: 0..self.len(),
        }
    }

    /// Its cells as texts of their own.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_string).collect()
    }
}

impl Index<usize> for Row<'_> {
    type Output = str;

    fn index(&self, i: usize) -> &str {
        self.get(i).unwrap_or_else(|| {
            panic!("cell {i} of a row of {} cells", self.len());
        })
    }
}

/// The rows of [`Rows`], in order.
#[derive(Debug, Clone)]
pub struct RowsIter<'a> {
    rows: &'a Rows,
    at: std::ops::Range<usize>,
}

impl<'a> Iterator for RowsIter<'a> {
    type Item = Row<'a>;

    fn next(&mut self) -> Option<Row<'a>> {
        self.at.next().and_then(|i| self.rows.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.at.size_hint()
    }
}

impl DoubleEndedIterator for RowsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.at.next_back().and_then(|i| self.rows.get(i))
    }
}

impl ExactSizeIterator for RowsIter<'_> {}

/// The cells of a [`Row`], in order.
#[derive(Debug, Clone)]
pub struct Cells<'a> {
    row: Row<'a>,
    at: std::ops::Range<usize>,
}

impl<'a> Iterator for Cells<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        self.at.next().and_then(|i| self.row.get(i))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.at.size_hint()
    }
}

impl DoubleEndedIterator for Cells<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.at.next_back().and_then(|i| self.row.get(i))
    }
}

impl ExactSizeIterator for Cells<'_> {}

impl<'a> IntoIterator for &'a Rows {
    type Item = Row<'a>;
    type IntoIter = RowsIter<'a>;

    fn into_iter(self) -> RowsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for Row<'a> {
    type Item = &'a str;
    type IntoIter = Cells<'a>;

    fn into_iter(self) -> Cells<'a> {
        self.iter()
    }
}

impl<S: AsRef<str>, R: IntoIterator<Item = S>> FromIterator<R> for Rows {
    fn from_iter<I: IntoIterator<Item = R>>(rows: I) -> Rows {
        let mut all = Rows::default();
        for row in rows {
            all.push(row);
        }
        all
    }
}

impl<S: AsRef<str>> From<Vec<Vec<S>>> for Rows {
    fn from(rows: Vec<Vec<S>>) -> Rows {
        rows.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_read_back_as_pushed_empty_cells_and_rows_included() {
        let mut rows: Rows = vec![vec!["BIZ-1", "Open banking", ""], vec![], vec!["", "x"]].into();
        rows.push(["BIZ-10".to_string(), "Ünïcode ✓".to_string()]);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows.to_vecs(),
            vec![
                vec!["BIZ-1", "Open banking", ""],
                vec![],
                vec!["", "x"],
                vec!["BIZ-10", "Ünïcode ✓"],
            ]
        );
        let first = rows.get(0).unwrap();
        assert_eq!(
            (&first[0], &first[1], &first[2]),
            ("BIZ-1", "Open banking", "")
        );
        assert_eq!(first.get(3), None);
        assert!(rows.get(1).unwrap().is_empty());
        assert_eq!(&rows.get(2).unwrap()[1], "x");
        assert_eq!(&rows.last().unwrap()[1], "Ünïcode ✓");
        assert!(rows.get(4).is_none());
        assert_eq!(
            rows.iter().rev().map(|r| r.len()).collect::<Vec<_>>(),
            [2, 2, 0, 3]
        );
    }

    #[test]
    fn retain_keeps_the_rows_chosen_in_order_and_clear_empties() {
        let mut rows: Rows = (1..=5)
            .map(|n| vec![format!("BIZ-{n}"), n.to_string()])
            .collect();
        rows.retain(|r| r[1].parse::<u32>().unwrap() % 2 == 1);
        assert_eq!(
            rows.to_vecs(),
            vec![vec!["BIZ-1", "1"], vec!["BIZ-3", "3"], vec!["BIZ-5", "5"]]
        );
        rows.clear();
        assert!(rows.is_empty() && rows.last().is_none());
    }
}
