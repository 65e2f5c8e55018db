//! Complete mode: the whole result table, every epoch.

use std::collections::BTreeMap;

use super::{add_count, repeat, OutputShape};
use crate::data::Row;

/// Complete mode: keeps the result table (sorted, with multiplicities) and writes all of it.
#[derive(Default)]
pub(in crate::runtime) struct Complete {
    table: BTreeMap<Row, isize>,
}

impl Complete {
    /// Adds an epoch's changes to the result table.
    fn apply(&mut self, changes: Vec<(Row, isize)>) {
        for (row, diff) in changes {
            add_count(&mut self.table, row, diff);
        }
    }
}

impl OutputShape for Complete {
    fn shape(&mut self, changes: Vec<(Row, isize)>, _watermark: Option<i64>) -> Vec<Row> {
        self.apply(changes);
        let mut rows = Vec::new();
        for (row, count) in &self.table {
            repeat(&mut rows, row, *count);
        }
        rows
    }

    fn restore(&mut self, result: Vec<(Row, isize)>) {
        self.apply(result);
    }

    fn rows_held(&self) -> Option<u64> {
        Some(self.table.len() as u64)
    }
}
