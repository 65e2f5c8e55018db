//! Update mode: the rows that changed in the epoch, with their new values.

use super::{repeat, OutputShape};
use crate::data::Row;

/// Update mode: the epoch's inserted rows (a changed row is a retraction of its old value and
/// an insertion of its new one; only the new one is written). A row inserted more than once is
/// written as many times: a projection above an aggregation can turn two keys' new rows into
/// one row, and Spark writes a row for each key its state store updated.
pub(in crate::runtime) struct Update;

impl OutputShape for Update {
    fn shape(&mut self, changes: Vec<(Row, isize)>, _watermark: Option<i64>) -> Vec<Row> {
        // An aggregation that emits insertions alone gives every row once: the rows are then
        // taken out where they lie, in the changes' own allocation.
        if changes.iter().all(|(_, diff)| *diff == 1) {
            return changes.into_iter().map(|(row, _)| row).collect();
        }
        let mut rows = Vec::with_capacity(changes.len());
        for (row, diff) in changes {
            match diff {
                1 => rows.push(row),
                more if more > 1 => repeat(&mut rows, &row, more),
                _ => {}
            }
        }
        rows
    }
}
