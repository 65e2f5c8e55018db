//! Output shaping: an epoch's changes become what the output mode writes, one type per mode.
//!
//! The dataflow's output of an epoch is a set of `(row, diff)` changes. Append writes rows
//! that can never change again ([`Append`], or [`AppendWindows`] for windows under a
//! watermark whose changes the dataflow emits, written once the watermark has passed their
//! end; a windowed aggregation that emits only the windows its watermark closes needs just
//! [`Append`]); update writes the rows that
//! changed ([`Update`]); complete writes the whole result ([`Complete`]). Every shape's rows
//! are sorted, so a sink's output does not depend on how many workers computed it.

mod append;
mod complete;
mod finish;
mod open_windows;
mod sort_key;
mod update;

use std::collections::btree_map::Entry;
use std::collections::hash_map;
use std::collections::BTreeMap;
use std::hash::Hash;

use crate::data::Row;
use crate::plan::OutputMode;

pub(super) use append::{Append, AppendWindows};
pub(super) use complete::Complete;
pub(super) use finish::Finish;
pub(super) use update::Update;

/// How one output mode turns an epoch's changes into the rows a sink is given.
pub(super) trait OutputShape {
    /// The rows to write for an epoch whose consolidated changes are `changes` (sorted by
    /// row, see [`consolidate_sorted`]), under the epoch's `watermark`. The rows are sorted.
    fn shape(&mut self, changes: Vec<(Row, isize)>, watermark: Option<i64>) -> Vec<Row>;

    /// Whether `watermark` alone calls for an epoch, without new data (Spark's no-data
    /// batch): it makes final some rows still waiting.
    fn epoch_due(&self, watermark: Option<i64>) -> bool {
        let _ = watermark;
        false
    }

    /// Takes in the result restored from a checkpoint (as changes from nothing), where the
    /// shape keeps the result between epochs: nothing is written for it.
    fn restore(&mut self, result: Vec<(Row, isize)>) {
        let _ = result;
    }

    /// Result rows held between epochs, where the shape keeps them (complete mode's table);
    /// `None` where it does not know.
    fn rows_held(&self) -> Option<u64> {
        None
    }
}

/// The shape of `mode`. `final_window_column` is the output column holding a window of the
/// watermarked column, when there is one under a watermark and the dataflow emits its
/// changes: append mode then holds each window's rows until the watermark passes its end.
pub(super) fn for_mode(mode: OutputMode, final_window_column: Option<usize>) -> Box<dyn OutputShape> {
    match (mode, final_window_column) {
        (OutputMode::Append, Some(column)) => Box::new(AppendWindows::new(column)),
        (OutputMode::Append, None) => Box::new(Append),
        (OutputMode::Update, _) => Box::new(Update),
        (OutputMode::Complete, _) => Box::new(Complete::default()),
    }
}

/// Moves `key`'s multiplicity in `counts` by `diff` with one lookup, forgetting it at zero: a
/// multiset kept as counts (complete mode's table).
pub(crate) fn add_count<K: Ord>(counts: &mut BTreeMap<K, isize>, key: K, diff: isize) {
    match counts.entry(key) {
        Entry::Occupied(mut count) => {
            *count.get_mut() += diff;
            if *count.get() == 0 {
                count.remove();
            }
        }
        Entry::Vacant(vacant) => {
            if diff != 0 {
                vacant.insert(diff);
            }
        }
    }
}

/// As [`add_count`], for a multiset kept in a hash map: open windows' rows, a DStream's
/// current batch.
pub(crate) fn add_count_hashed<K: Hash + Eq>(counts: &mut foldhash::HashMap<K, isize>, key: K, diff: isize) {
    match counts.entry(key) {
        hash_map::Entry::Occupied(mut count) => {
            *count.get_mut() += diff;
            if *count.get() == 0 {
                count.remove();
            }
        }
        hash_map::Entry::Vacant(vacant) => {
            if diff != 0 {
                vacant.insert(diff);
            }
        }
    }
}

/// Appends `times` copies of `row` to `rows` (none for a negative count).
fn repeat(rows: &mut Vec<Row>, row: &Row, times: isize) {
    rows.extend(std::iter::repeat_n(row, times.max(0) as usize).cloned());
}

/// Sums the diffs of equal rows, drops the rows whose sum is zero, and returns them sorted by
/// row. Sorts indices rather than the (wide) entries, so no row moves during the sort, and
/// compares the rows' leading columns as integers where it can ([`sort_key`]).
pub(super) fn consolidate_sorted(mut changes: Vec<(Row, isize)>) -> Vec<(Row, isize)> {
    // An aggregation's changes from one worker come sorted and consolidated already: one
    // pass over them is then all the work.
    if is_consolidated(&changes) {
        return changes;
    }
    let order = sort_key::sorted_order(changes.len(), |i| &changes[i].0);
    let mut out: Vec<(Row, isize)> = Vec::with_capacity(changes.len());
    for i in order {
        let (row, diff) = std::mem::take(&mut changes[i as usize]);
        match out.last_mut() {
            Some((last, sum)) if *last == row => *sum += diff,
            _ => {
                if out.last().is_some_and(|(_, sum)| *sum == 0) {
                    out.pop();
                }
                out.push((row, diff));
            }
        }
    }
    if out.last().is_some_and(|(_, sum)| *sum == 0) {
        out.pop();
    }
    out
}

/// Whether `changes` are sorted by row, each row once, none with a zero diff: what
/// [`consolidate_sorted`] returns.
pub(super) fn is_consolidated(changes: &[(Row, isize)]) -> bool {
    changes.iter().all(|(_, diff)| *diff != 0) && changes.windows(2).all(|pair| pair[0].0 < pair[1].0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row;

    #[test]
    fn consolidation_sums_sorts_and_drops_zeros() {
        let changes = vec![
            (row!["b", 1], 1),
            (row!["a", 2], -1),
            (row!["b", 1], -1),
            (row!["a", 3], 1),
            (row!["c"], 2),
            (row!["a", 2], 1),
        ];
        assert_eq!(
            consolidate_sorted(changes),
            vec![(row!["a", 3], 1), (row!["c"], 2)]
        );
        assert_eq!(consolidate_sorted(vec![(row!["x"], 1), (row!["x"], -1)]), vec![]);
        // Already sorted and consolidated: as it is.
        let sorted = vec![(row!["a", 2], -1), (row!["a", 3], 1), (row!["b"], 2)];
        assert_eq!(consolidate_sorted(sorted.clone()), sorted);
        // Sorted, but with a zero or a repeated row: consolidated.
        assert_eq!(
            consolidate_sorted(vec![(row!["a"], 0), (row!["b"], 1)]),
            vec![(row!["b"], 1)]
        );
        assert_eq!(
            consolidate_sorted(vec![(row!["a"], 1), (row!["a"], 1)]),
            vec![(row!["a"], 2)]
        );
    }

    #[test]
    fn each_mode_writes_its_rows_sorted() {
        // Epoch 0 counts a: 1, b: 2; epoch 1 moves a to 3.
        let first = vec![(row!["a", 1], 1), (row!["b", 2], 1)];
        let second = vec![(row!["a", 1], -1), (row!["a", 3], 1)];

        let mut update = for_mode(OutputMode::Update, None);
        assert_eq!(
            update.shape(first.clone(), None),
            vec![row!["a", 1], row!["b", 2]]
        );
        assert_eq!(update.shape(second.clone(), None), vec![row!["a", 3]]);

        let mut complete = for_mode(OutputMode::Complete, None);
        assert_eq!(
            complete.shape(first.clone(), None),
            vec![row!["a", 1], row!["b", 2]]
        );
        assert_eq!(complete.shape(second, None), vec![row!["a", 3], row!["b", 2]]);
        assert_eq!(complete.rows_held(), Some(2));

        let mut append = for_mode(OutputMode::Append, None);
        assert_eq!(
            append.shape(vec![(row!["x"], 2), (row!["y"], 1)], None),
            vec![row!["x"], row!["x"], row!["y"]]
        );
        assert!(!append.epoch_due(Some(i64::MAX)));
    }
}
