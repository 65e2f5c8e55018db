//! The rows of windows that append mode has not written yet: a window's row is written once,
//! in the epoch whose watermark has passed the window's end, and the changes before then only
//! move its count.
//!
//! Rows are kept by their window's end, so an epoch finds the windows its watermark closes
//! at the front, in time proportional to what it writes, rather than by scanning every open
//! row; and within a window by hash, so a change costs one hash probe, not a walk of row
//! comparisons down a sorted tree.

use std::collections::BTreeMap;

use foldhash::HashMap;
use tidewater_operators::watermark::is_final;

use super::add_count_hashed;
use crate::data::{Row, Value};

/// Open windows' rows with their multiplicities, by window end (microseconds).
#[derive(Debug, Default)]
pub(super) struct OpenWindows {
    /// The output column that holds a row's window.
    column: usize,
    by_end: BTreeMap<i64, HashMap<Row, isize>>,
    /// Rows whose window column holds no window (a null event time): no watermark closes
    /// them, so they are never written.
    without_end: HashMap<Row, isize>,
    /// The length of the windows seen, while they all have one (`None` before any); session
    /// windows vary, and then the end order is not the rows' order.
    length: Option<i64>,
    /// Whether windows of different lengths were seen (session windows).
    varying: bool,
}

impl OpenWindows {
    /// Open windows of rows whose window is in output column `column`.
    pub(super) fn new(column: usize) -> Self {
        OpenWindows {
            column,
            ..Default::default()
        }
    }

    /// Adds an epoch's changes: each row's multiplicity moves by its diff, and a row whose
    /// multiplicity reaches zero is gone.
    pub(super) fn apply(&mut self, changes: Vec<(Row, isize)>) {
        for (row, diff) in changes {
            if let Some(length) = row.get(self.column).and_then(window_length) {
                self.varying |= self.length.is_some_and(|l| l != length);
                self.length.get_or_insert(length);
            }
            let rows = match row.get(self.column).and_then(Value::window_end) {
                Some(end) => self.by_end.entry(end).or_default(),
                None => &mut self.without_end,
            };
            add_count_hashed(rows, row, diff);
        }
        self.by_end.retain(|_, rows| !rows.is_empty());
    }

    /// Takes the rows of the windows that end at or before `watermark`, sorted by row, each
    /// with its multiplicity.
    ///
    /// The windows of one query all have one length, so their order by end is their order as
    /// values. When the window is the rows' first column, then, the rows are sorted window by
    /// window, on the columns after it (equal within a window), and the windows follow each
    /// other in end order: shorter sorts of cheaper comparisons than one sort of them all.
    pub(super) fn close(&mut self, watermark: i64) -> Vec<(Row, isize)> {
        let mut closed = Vec::new();
        while let Some(entry) = self.by_end.first_entry() {
            if !is_final(*entry.key(), Some(watermark)) {
                break;
            }
            let start = closed.len();
            closed.extend(entry.remove());
            if self.column == 0 && !self.varying {
                closed[start..].sort_unstable_by(|a, b| a.0[1..].cmp(&b.0[1..]));
            }
        }
        if self.column != 0 || self.varying {
            closed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        closed
    }

    /// Whether a window still open ends at or before `watermark` (so that an epoch without
    /// data is due to write it).
    pub(super) fn any_closed_by(&self, watermark: i64) -> bool {
        self.by_end
            .keys()
            .next()
            .is_some_and(|&end| is_final(end, Some(watermark)))
    }
}

/// The length of the window `value` holds, if it holds one.
fn window_length(value: &Value) -> Option<i64> {
    match value {
        Value::Struct(fields) => match (fields.first(), fields.get(1)) {
            (Some(Value::Timestamp(start)), Some(Value::Timestamp(end))) => Some(end - start),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row;

    /// A row of `(window, key)` whose window is `[start, end)`.
    fn windowed(start: i64, end: i64, key: &str) -> Row {
        let window = Value::Struct(vec![Value::Timestamp(start), Value::Timestamp(end)].into());
        row![window, key]
    }

    #[test]
    fn a_window_is_written_once_its_end_is_at_or_before_the_watermark() {
        let mut open = OpenWindows::new(0);
        let (a, b) = (windowed(0, 10, "a"), windowed(0, 10, "b"));
        let later = windowed(10, 20, "a");
        open.apply(vec![(a.clone(), 1), (b.clone(), 2), (later.clone(), 1)]);
        // A count that moves: the old row goes, the new one comes.
        open.apply(vec![(b.clone(), -2), (a.clone(), 1)]);

        assert!(!open.any_closed_by(9));
        assert_eq!(open.close(9), []);
        assert!(open.any_closed_by(10));
        assert_eq!(open.close(10), [(a, 2)]);
        assert!(!open.any_closed_by(19));
        assert_eq!(open.close(25), [(later, 1)]);
        assert_eq!(open.close(i64::MAX), []);
    }

    #[test]
    fn rows_come_out_sorted_whichever_column_holds_the_window() {
        for column in [0, 1] {
            let mut open = OpenWindows::new(column);
            let row = |start: i64, key: &str| {
                let window = windowed(start, start + 10, "")[0].clone();
                match column {
                    0 => row![window, key, 1],
                    _ => row![key, window, 1],
                }
            };
            let rows = [row(10, "a"), row(0, "z"), row(0, "b"), row(20, "c"), row(10, "b")];
            open.apply(rows.iter().map(|r| (r.clone(), 1)).collect());
            let closed: Vec<Row> = open.close(i64::MAX).into_iter().map(|(r, _)| r).collect();
            let mut expected = rows.to_vec();
            expected.sort();
            assert_eq!(closed, expected, "window in column {column}");
        }
    }

    #[test]
    fn rows_of_several_windows_come_out_sorted_and_rows_without_a_window_never() {
        let mut open = OpenWindows::new(0);
        let rows = [windowed(10, 20, "a"), windowed(0, 10, "z"), windowed(0, 10, "b")];
        let no_window = row![Value::Null, "n"];
        open.apply(
            rows.iter()
                .map(|r| (r.clone(), 1))
                .chain([(no_window, 1)])
                .collect(),
        );
        let mut expected: Vec<_> = rows.iter().map(|r| (r.clone(), 1)).collect();
        expected.sort();
        assert_eq!(open.close(i64::MAX), expected);
        assert!(!open.any_closed_by(i64::MAX));
    }
}
