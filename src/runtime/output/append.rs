//! Append mode: rows are written once, when they can never change again.

use super::open_windows::OpenWindows;
use super::{repeat, OutputShape};
use crate::data::Row;

/// Append mode without windows to wait for: every inserted row is final at once.
pub(in crate::runtime) struct Append;

impl OutputShape for Append {
    fn shape(&mut self, changes: Vec<(Row, isize)>, _watermark: Option<i64>) -> Vec<Row> {
        let mut rows = Vec::with_capacity(changes.len());
        for (row, diff) in changes {
            // A row inserted once (the usual case) moves; only repeats are cloned.
            if diff == 1 {
                rows.push(row);
            } else {
                repeat(&mut rows, &row, diff);
            }
        }
        rows
    }
}

/// Append mode over windows of the watermarked column: a window's rows wait, their counts
/// moving with each epoch's changes, until the watermark passes the window's end; then they
/// are written, once.
pub(in crate::runtime) struct AppendWindows {
    open: OpenWindows,
}

impl AppendWindows {
    /// Windows held by the window in output column `column`.
    pub(in crate::runtime) fn new(column: usize) -> Self {
        AppendWindows {
            open: OpenWindows::new(column),
        }
    }
}

impl OutputShape for AppendWindows {
    fn shape(&mut self, changes: Vec<(Row, isize)>, watermark: Option<i64>) -> Vec<Row> {
        self.open.apply(changes);
        let mut rows = Vec::new();
        for (row, count) in watermark.map(|w| self.open.close(w)).unwrap_or_default() {
            repeat(&mut rows, &row, count);
        }
        rows
    }

    fn restore(&mut self, result: Vec<(Row, isize)>) {
        self.open.apply(result);
    }

    fn epoch_due(&self, watermark: Option<i64>) -> bool {
        watermark.is_some_and(|w| self.open.any_closed_by(w))
    }
}
