//! `Join`. With a static right side (a table read once), a lookup join: the table is hashed by
//! key and each stream row is looked up and forgotten, so the stream keeps no state. Otherwise
//! differential's `join` on key rows, where a left join adds the left rows whose key has no
//! match (`antijoin`), padded with nulls. Rows with a null in their key never match, as in SQL.

use differential_dataflow::collection::VecCollection;
use smallvec::SmallVec;
use tidewater_operators::{lookup_join, TableRows};

use super::Rows;
use crate::data::{Row, Value};
use crate::expr::BoundExpr;
use crate::plan::JoinKind;

/// A join key of a table row or a stream row. Most joins are on one column, whose value then
/// lives inline: the table's map entries stay small, so probing a large table misses the cache
/// as little as it can.
pub(super) type JoinKey = SmallVec<[Value; 1]>;

/// A table row's columns that the join's output keeps (inline when there is one).
pub(super) type Kept = SmallVec<[Value; 1]>;

/// Each row as `(key, row)`: its values of `keys`, and its columns at `kept` moved out of it
/// (the whole row for `None`, see [`JoinedColumns`]).
fn join_keyed<'s, K>(
    rows: Rows<'s>,
    keys: Vec<BoundExpr>,
    kept: Option<Vec<usize>>,
) -> VecCollection<'s, u64, (K, Row), isize>
where
    K: FromIterator<Value> + differential_dataflow::Data,
{
    rows.map(move |row| {
        (
            keys.iter().map(|k| k.eval(&row)).collect::<K>(),
            narrowed(row, &kept),
        )
    })
}

fn has_null(key: &[Value]) -> bool {
    key.iter().any(Value::is_null)
}

/// A static table ready to be probed: `(key, kept columns)` pairs, the kept columns being the
/// right columns of the join's output, with the rows whose key has a null left out (they match
/// nothing).
pub(super) fn probe_table<'s>(
    right: Rows<'s>,
    right_keys: Vec<BoundExpr>,
    right_columns: Vec<usize>,
) -> VecCollection<'s, u64, (JoinKey, Kept), isize> {
    right.flat_map(move |row| {
        let key: JoinKey = right_keys.iter().map(|k| k.eval(&row)).collect();
        let kept = || {
            right_columns
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
                .collect::<Kept>()
        };
        (!has_null(&key)).then(|| (key, kept()))
    })
}

/// What a stream row's join with a static table produces, given the table rows its key
/// matches (see [`probe_table`]): the row followed by each match's kept columns, or for a LEFT
/// join without a match the row padded with `width` nulls.
#[derive(Clone, Debug)]
pub(super) struct TableJoin {
    kind: JoinKind,
    width: usize,
    /// Where each right column of the output is among a table row's kept columns, `None`
    /// for one nothing reads (null); `None` when the kept columns are the output's, in order.
    layout: Option<Vec<Option<usize>>>,
}

impl TableJoin {
    pub(super) fn new(kind: JoinKind, right_columns: &[usize]) -> Self {
        TableJoin {
            kind,
            width: right_columns.len(),
            layout: None,
        }
    }

    /// The same join over table rows that keep only the columns `columns` keeps of them.
    fn laid_out(mut self, columns: &JoinedColumns, left_width: usize) -> Self {
        self.layout = columns.right_layout(left_width);
        self
    }

    /// Emits `(output row, multiplicity)` for `left` joined with `matches`.
    pub(super) fn emit(&self, left: &Row, matches: &[(Kept, isize)], emit: &mut impl FnMut(Row, isize)) {
        match self.kind {
            // The left row alone, once, as Spark's semi and anti joins give it.
            JoinKind::LeftSemi if !matches.is_empty() => return emit(left.clone(), 1),
            JoinKind::LeftAnti if matches.is_empty() => return emit(left.clone(), 1),
            JoinKind::LeftSemi | JoinKind::LeftAnti => return,
            _ => {}
        }
        for (kept, n) in matches {
            let mut row = Row::with_capacity(left.len() + self.width);
            left.iter().cloned().for_each(|v| row.push(v));
            match &self.layout {
                None => kept.iter().cloned().for_each(|v| row.push(v)),
                Some(layout) => layout
                    .iter()
                    .for_each(|at| row.push(at.and_then(|i| kept.get(i)).cloned().unwrap_or(Value::Null))),
            }
            emit(row, *n);
        }
        if matches.is_empty() && self.kind == JoinKind::Left {
            let mut row = Row::with_capacity(left.len() + self.width);
            left.iter().cloned().for_each(|v| row.push(v));
            (0..self.width).for_each(|_| row.push(Value::Null));
            emit(row, 1);
        }
    }
}

/// A stream row's key looked up in a static table held by every worker (see
/// [`probe_table`]); a key with a null matches nothing. A key of one column is looked up
/// borrowed from the row.
#[derive(Clone, Debug)]
pub(super) struct TableProbe {
    left_keys: Vec<BoundExpr>,
    join: TableJoin,
}

impl TableProbe {
    pub(super) fn new(left_keys: Vec<BoundExpr>, join: TableJoin) -> Self {
        TableProbe { left_keys, join }
    }

    /// True for a LEFT join: a row without a match is kept, padded with nulls.
    pub(super) fn keeps_unmatched(&self) -> bool {
        self.join.kind == JoinKind::Left
    }

    /// The table rows that `left` joins with: its key's rows, none for a key with a null.
    pub(super) fn matches<'t>(&self, left: &Row, table: &'t TableRows<JoinKey, Kept>) -> &'t [(Kept, isize)] {
        match self.left_keys.as_slice() {
            [BoundExpr::Column(i)] => match left.get(*i) {
                Some(key) if !key.is_null() => table.get(std::slice::from_ref(key)),
                _ => &[],
            },
            keys => {
                let key: JoinKey = keys.iter().map(|k| k.eval(left)).collect();
                if has_null(&key) {
                    &[]
                } else {
                    table.get(&key[..])
                }
            }
        }
    }

    /// Emits `(output row, multiplicity)` for each row of `left`'s join with `table`.
    pub(super) fn join(
        &self,
        left: &Row,
        table: &TableRows<JoinKey, Kept>,
        emit: &mut impl FnMut(Row, isize),
    ) {
        self.join.emit(left, self.matches(left, table), emit)
    }
}

/// Joins the stream `left` with the static table `right` on the key expressions: the table is
/// hashed by key and each stream row is looked up and forgotten. Output rows are the left row
/// followed by the right row's `right_columns`, of which the table keeps only those `columns`
/// keeps (the others are null).
pub(super) fn lookup<'s>(
    left: Rows<'s>,
    right: Rows<'s>,
    kind: JoinKind,
    (left_keys, right_keys): (Vec<BoundExpr>, Vec<BoundExpr>),
    right_columns: Vec<usize>,
    (columns, left_width): (JoinedColumns, usize),
) -> Rows<'s> {
    let join = TableJoin::new(kind, &right_columns).laid_out(&columns, left_width);
    let kept = columns.right_kept(&right_columns);
    lookup_join(
        join_keyed::<JoinKey>(left, left_keys, None),
        probe_table(right, right_keys, kept),
        "LookupJoin",
        move |key, l, matches, out| {
            let matches = if has_null(key) { &[][..] } else { matches };
            join.emit(l, matches, &mut |row, n| out.push((row, n)));
        },
    )
}

/// Where a joined row's column comes from: a column of the arranged left or right row, or
/// nothing (a column nothing above reads, or the right side of an unmatched left row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Take {
    Left(usize),
    Right(usize),
    Null,
}

/// The columns an arranged join keeps of each side's rows, and how it lays out its output from
/// them. Both sides stay arranged as long as the join runs, so they keep only the columns read
/// above the join (Spark's `ColumnPruning` projects a join's inputs the same way): narrow rows
/// sort, merge and compare faster, and up to four values need no allocation. The output keeps
/// the join's schema, with nulls where nothing reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct JoinedColumns {
    /// The left columns each arranged left row keeps, `None` for the whole row.
    left: Option<Vec<usize>>,
    /// The right columns each arranged right row keeps, `None` for the whole row.
    right: Option<Vec<usize>>,
    /// Each output column's value.
    output: Vec<Take>,
}

/// The columns of `row` at `kept` (each at most once), moved out of it, or the row itself for
/// `None`.
fn narrowed(mut row: Row, kept: &Option<Vec<usize>>) -> Row {
    match kept {
        None => row,
        Some(kept) => {
            let mut out = Row::with_capacity(kept.len());
            kept.iter()
                .for_each(|&i| out.push(row.get_mut(i).map(std::mem::take).unwrap_or(Value::Null)));
            out
        }
    }
}

impl JoinedColumns {
    /// The layout of a join whose left rows are `left_width` wide and whose output is the left
    /// row then the right row's `right_columns`, of which the plan above reads `output_read`
    /// (all when `None`). `right_width` is the width of a right row. The join itself reads
    /// the left columns `left_needs` and the right columns `right_needs` of its rows (a
    /// stream join's event times): those are kept too.
    pub(super) fn new(
        left_width: usize,
        right_width: usize,
        right_columns: &[usize],
        output_read: Option<&[bool]>,
        (left_needs, right_needs): (&[usize], &[usize]),
    ) -> Self {
        let read = |column: usize| output_read.is_none_or(|read| read.get(column) != Some(&false));
        let with_needs = |mut kept: Vec<usize>, needs: &[usize]| {
            for &column in needs {
                if !kept.contains(&column) {
                    kept.push(column);
                }
            }
            kept
        };
        let left = with_needs((0..left_width).filter(|&c| read(c)).collect(), left_needs);
        let right = with_needs(
            (0..right_columns.len())
                .filter(|&k| read(left_width + k))
                .map(|k| right_columns[k])
                .collect(),
            right_needs,
        );
        let position = |kept: &[usize], column: usize| kept.iter().position(|&c| c == column);
        let output = (0..left_width)
            .map(|c| match position(&left, c) {
                Some(i) if read(c) => Take::Left(i),
                _ => Take::Null,
            })
            .chain(
                right_columns
                    .iter()
                    .enumerate()
                    .map(|(k, &column)| match position(&right, column) {
                        Some(i) if read(left_width + k) => Take::Right(i),
                        _ => Take::Null,
                    }),
            )
            .collect();
        // A side that keeps all its columns in order keeps its rows as they are.
        let whole_or = |kept: Vec<usize>, width: usize| (!kept.iter().copied().eq(0..width)).then_some(kept);
        JoinedColumns {
            left: whole_or(left, left_width),
            right: whole_or(right, right_width),
            output,
        }
    }

    /// Where left column `column` is in a kept left row.
    pub(super) fn left_position(&self, column: usize) -> usize {
        Self::position(&self.left, column)
    }

    /// Where right column `column` is in a kept right row.
    pub(super) fn right_position(&self, column: usize) -> usize {
        Self::position(&self.right, column)
    }

    fn position(kept: &Option<Vec<usize>>, column: usize) -> usize {
        match kept {
            None => column,
            // Every column the join reads is kept (`new`'s needs); one that is not reads as
            // missing.
            Some(kept) => kept.iter().position(|&c| c == column).unwrap_or(usize::MAX),
        }
    }

    /// The rows of the left side keyed by `keys`, each keeping the columns kept of it.
    pub(super) fn keyed_left<'s, K>(
        &self,
        rows: Rows<'s>,
        keys: Vec<BoundExpr>,
    ) -> VecCollection<'s, u64, (K, Row), isize>
    where
        K: FromIterator<Value> + differential_dataflow::Data,
    {
        join_keyed(rows, keys, self.left.clone())
    }

    /// The rows of the right side keyed by `keys`, each keeping the columns kept of it.
    pub(super) fn keyed_right<'s, K>(
        &self,
        rows: Rows<'s>,
        keys: Vec<BoundExpr>,
    ) -> VecCollection<'s, u64, (K, Row), isize>
    where
        K: FromIterator<Value> + differential_dataflow::Data,
    {
        join_keyed(rows, keys, self.right.clone())
    }

    /// The kept columns of a left row, the row itself when all are kept.
    pub(super) fn narrow_left(&self, row: Row) -> Row {
        narrowed(row, &self.left)
    }

    /// The kept columns of a right row, the row itself when all are kept.
    pub(super) fn narrow_right(&self, row: Row) -> Row {
        narrowed(row, &self.right)
    }

    /// The right columns a kept right row holds, in its order; `right_columns` are the
    /// join's (all of them are kept when the row is kept whole).
    pub(super) fn right_kept(&self, right_columns: &[usize]) -> Vec<usize> {
        self.right.clone().unwrap_or_else(|| right_columns.to_vec())
    }

    /// Where each right column of the output is in a kept right row (`None`: null), or `None`
    /// when the kept row is the output's right columns, in order.
    fn right_layout(&self, left_width: usize) -> Option<Vec<Option<usize>>> {
        let layout: Vec<Option<usize>> = self.output[left_width.min(self.output.len())..]
            .iter()
            .map(|take| match *take {
                Take::Right(i) => Some(i),
                _ => None,
            })
            .collect();
        let in_order = layout.iter().enumerate().all(|(k, at)| *at == Some(k));
        (!in_order).then_some(layout)
    }

    /// The width of a kept left row and of a kept right row, given the sides' widths.
    pub(super) fn kept_widths(&self, left_width: usize, right_width: usize) -> (usize, usize) {
        let count = |kept: &Option<Vec<usize>>, width: usize| kept.as_ref().map_or(width, Vec::len);
        (count(&self.left, left_width), count(&self.right, right_width))
    }

    /// How many columns of each side's rows are kept, of how many, when fewer than all are
    /// (for explain).
    pub(super) fn kept(
        &self,
        left_width: usize,
        right_width: usize,
    ) -> Option<((usize, usize), (usize, usize))> {
        let (left, right) = self.kept_widths(left_width, right_width);
        (self.left.is_some() || self.right.is_some()).then_some(((left, left_width), (right, right_width)))
    }

    /// The joined row of the kept rows `left` and `right` (`None`: that side padded with
    /// nulls).
    pub(super) fn joined(&self, left: Option<&Row>, right: Option<&Row>) -> Row {
        let mut out = Row::with_capacity(self.output.len());
        for take in &self.output {
            out.push(match *take {
                Take::Left(i) => left.and_then(|l| l.get(i)).cloned().unwrap_or(Value::Null),
                Take::Right(i) => right.and_then(|r| r.get(i)).cloned().unwrap_or(Value::Null),
                Take::Null => Value::Null,
            });
        }
        out
    }
}

/// Joins `left` and `right` on the key expressions with differential's `join`, both sides
/// arranged with the columns `columns` keeps; output rows are the left row followed by the
/// right row's kept columns, laid out as `columns` says.
pub(super) fn arranged<'s>(
    left: Rows<'s>,
    right: Rows<'s>,
    kind: JoinKind,
    left_keys: Vec<BoundExpr>,
    right_keys: Vec<BoundExpr>,
    columns: JoinedColumns,
) -> Rows<'s> {
    let left = columns.keyed_left::<JoinKey>(left, left_keys);
    let right = columns
        .keyed_right::<JoinKey>(right, right_keys)
        .filter(|(key, _)| !has_null(key));
    let matchable = left.clone().filter(|(key, _)| !has_null(key));
    let layout = columns.clone();
    let matched = matchable
        .clone()
        .join(right.clone())
        .map(move |(_, (l, r))| layout.joined(Some(&l), Some(&r)));
    match kind {
        JoinKind::Inner => matched,
        // Other kinds join two streams under watermarks (see `interval_join`).
        JoinKind::Left | JoinKind::Right | JoinKind::Full | JoinKind::LeftSemi | JoinKind::LeftAnti => {
            let right_keys = right.map(|(key, _)| key).distinct();
            let unmatched = left
                .antijoin(right_keys)
                .map(move |(_, l)| columns.joined(Some(&l), None));
            matched.concat(unmatched)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{JoinedColumns, Take};

    #[test]
    fn a_join_read_whole_keeps_whole_rows_and_a_pruned_one_keeps_what_is_read() {
        // Everything read: both sides arranged whole, nothing to say in explain.
        let whole = JoinedColumns::new(2, 3, &[0, 1, 2], None, (&[], &[]));
        assert_eq!((&whole.left, &whole.right), (&None, &None));
        assert_eq!(whole.kept(2, 3), None);
        assert_eq!(
            whole.output,
            [
                Take::Left(0),
                Take::Left(1),
                Take::Right(0),
                Take::Right(1),
                Take::Right(2)
            ]
        );
        // USING drops the right key: the right rows keep the other two columns.
        let using = JoinedColumns::new(2, 3, &[1, 2], Some(&[true; 4]), (&[], &[]));
        assert_eq!((&using.left, &using.right), (&None, &Some(vec![1, 2])));
        // Read: the left's second column and the right's third; the output keeps its width.
        let pruned = JoinedColumns::new(
            2,
            3,
            &[0, 1, 2],
            Some(&[false, true, false, false, true]),
            (&[], &[]),
        );
        assert_eq!((&pruned.left, &pruned.right), (&Some(vec![1]), &Some(vec![2])));
        assert_eq!(
            pruned.output,
            [Take::Null, Take::Left(0), Take::Null, Take::Null, Take::Right(0)]
        );
        assert_eq!(pruned.kept(2, 3), Some(((1, 2), (1, 3))));
    }
}
