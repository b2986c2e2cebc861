//! Entry points for the fuzz targets in `fuzz/` and for the tests that replay their corpora:
//! whatever a CSV file holds, reading it gives rows and rejections, never a panic or a loop.

use crate::files::{FILES, Settings};
use crate::read::{Position, read_page};
use std::io::Cursor;

/// Read `data` as one of the known files, page by page: the first byte picks the file, the
/// second the page size, so resuming from a byte position is exercised too.
pub fn csv_reader(data: &[u8]) {
    let (spec, page_size, bytes) = match data {
        [a, b, rest @ ..] => (
            &FILES[usize::from(*a) % FILES.len()],
            usize::from(*b % 16) + 1,
            rest,
        ),
        _ => (&FILES[0], 1, data),
    };
    let settings = Settings::default();
    let mut start: Option<Position> = None;
    // Every page moves forward by at least one row, so this ends; a few pages show that
    // resuming works, more would only slow the fuzzer down.
    for _ in 0..64 {
        match read_page(spec, &settings, Cursor::new(bytes), start, page_size, None) {
            Ok(read) => match read.next {
                Some(p) if Some(p) != start => start = Some(p),
                Some(p) => panic!("{}: a page at {p:?} did not move forward", spec.file),
                None => break,
            },
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Every input in the fuzz corpus and every past finding still reads without a panic.
    #[test]
    fn the_corpus_and_past_findings_replay() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz");
        let mut n = 0;
        for dir in ["corpus/csv_reader", "regressions/csv_reader"] {
            let Ok(entries) = std::fs::read_dir(format!("{root}/{dir}")) else {
                continue;
            };
            for entry in entries.flatten() {
                super::csv_reader(&std::fs::read(entry.path()).unwrap());
                n += 1;
            }
        }
        assert!(n > 0, "the corpus is in fuzz/corpus/csv_reader");
    }
}
