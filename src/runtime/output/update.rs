//! Update mode: the rows that changed in the epoch, with their new values.

use super::OutputShape;
use crate::data::Row;

/// Update mode: the epoch's inserted rows (a changed row is a retraction of its old value and
/// an insertion of its new one; only the new one is written).
pub(in crate::runtime) struct Update;

impl OutputShape for Update {
    fn shape(&mut self, changes: Vec<(Row, isize)>, _watermark: Option<i64>) -> Vec<Row> {
        changes
            .into_iter()
            .filter(|(_, d)| *d > 0)
            .map(|(r, _)| r)
            .collect()
    }
}
