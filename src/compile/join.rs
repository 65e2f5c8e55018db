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

fn keyed<'s>(
    rows: Rows<'s>,
    keys: Vec<BoundExpr>,
) -> differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize> {
    rows.map(move |row| (keys.iter().map(|k| k.eval(&row)).collect::<Row>(), row))
}

/// A join key of a table row or a stream row. Most joins are on one column, whose value then
/// lives inline: the table's map entries stay small, so probing a large table misses the cache
/// as little as it can.
pub(super) type JoinKey = SmallVec<[Value; 1]>;

/// A table row's columns that the join's output keeps (inline when there is one).
pub(super) type Kept = SmallVec<[Value; 1]>;

fn join_keyed<'s>(rows: Rows<'s>, keys: Vec<BoundExpr>) -> VecCollection<'s, u64, (JoinKey, Row), isize> {
    rows.map(move |row| (keys.iter().map(|k| k.eval(&row)).collect::<JoinKey>(), row))
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
}

impl TableJoin {
    pub(super) fn new(kind: JoinKind, right_columns: &[usize]) -> Self {
        TableJoin {
            kind,
            width: right_columns.len(),
        }
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
            let mut row = Row::with_capacity(left.len() + kept.len());
            left.iter().chain(kept.iter()).cloned().for_each(|v| row.push(v));
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
/// followed by the right row's `right_columns`.
pub(super) fn lookup<'s>(
    left: Rows<'s>,
    right: Rows<'s>,
    kind: JoinKind,
    left_keys: Vec<BoundExpr>,
    right_keys: Vec<BoundExpr>,
    right_columns: Vec<usize>,
) -> Rows<'s> {
    let join = TableJoin::new(kind, &right_columns);
    lookup_join(
        join_keyed(left, left_keys),
        probe_table(right, right_keys, right_columns),
        "LookupJoin",
        move |key, l, matches, out| {
            let matches = if has_null(key) { &[][..] } else { matches };
            join.emit(l, matches, &mut |row, n| out.push((row, n)));
        },
    )
}

/// Joins `left` and `right` on the key expressions with differential's `join`, both sides
/// arranged; output rows are the left row followed by the right row's `right_columns`.
pub(super) fn arranged<'s>(
    left: Rows<'s>,
    right: Rows<'s>,
    kind: JoinKind,
    left_keys: Vec<BoundExpr>,
    right_keys: Vec<BoundExpr>,
    right_columns: Vec<usize>,
) -> Rows<'s> {
    let left = keyed(left, left_keys);
    let right = keyed(right, right_keys).filter(|(key, _)| !has_null(key));
    let matchable = left.clone().filter(|(key, _)| !has_null(key));
    let columns = right_columns.clone();
    let matched = matchable.clone().join(right.clone()).map(move |(_, (l, r))| {
        let mut out = Row::with_capacity(l.len() + columns.len());
        l.iter().cloned().for_each(|v| out.push(v));
        columns
            .iter()
            .for_each(|&i| out.push(r.get(i).cloned().unwrap_or(Value::Null)));
        out
    });
    match kind {
        JoinKind::Inner => matched,
        // Other kinds join two streams under watermarks (see `interval_join`).
        JoinKind::Left | JoinKind::Right | JoinKind::Full | JoinKind::LeftSemi | JoinKind::LeftAnti => {
            let width = right_columns.len();
            let pad = move |(_, l): (Row, Row)| {
                let mut out = l;
                (0..width).for_each(|_| out.push(Value::Null));
                out
            };
            let right_keys = right.map(|(key, _)| key).distinct();
            let unmatched = left.antijoin(right_keys).map(pad);
            matched.concat(unmatched)
        }
    }
}
