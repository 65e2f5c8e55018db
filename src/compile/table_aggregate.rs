//! An aggregation over an append-only stream joined with a static table, fused into one
//! operator: every worker holds the whole table, probes its own stream rows in it and folds
//! what they join with straight into its partial states, so no stream row is exchanged or
//! rebuilt between the join and the aggregation (see
//! [`lookup_aggregate_into`]).
//!
//! The fold is chosen by the query's shape, cheapest first (the choice is made with the rest of
//! the physical plan, in [`physical`](super::physical)):
//! - grouped by one column of the table (`GROUP BY country` of the user a transaction is
//!   looked up by), with plain column arguments: the group's value and its hash are computed
//!   once per table row, when the table loads, so a stream row costs one probe of the table and
//!   one probe of the states by a precomputed hash ([`GroupedByTable`]); on a BIGINT join key
//!   the table is keyed by the integer itself ([`TableKey`]);
//! - keys and arguments that are plain columns: each column is read from the stream row or from
//!   the table row it matched, and no joined row is built ([`ColumnFold`]);
//! - otherwise the joined rows are built and run through the aggregation's row pipeline.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use differential_dataflow::collection::VecCollection;
use serde::{Deserialize, Serialize};
use tidewater_operators::{
    gather_sorted, lookup_aggregate_durable, Aggregation, Changes, Durable, PartialStates, Table, TableRows,
};

use super::aggregate::{Figures, RowAggregation, RowFold, States, GATHER};
use super::join::{probe_table, JoinKey, Kept, TableJoin, TableProbe};
use super::local_rows::StreamRows;
use super::physical::JoinOn;
use super::pipeline::Pipeline;
use super::Rows;
use crate::data::{Row, Value};
use crate::expr::{Accumulator, BoundExpr};
use crate::plan::JoinKind;

/// The name of the fused join and aggregation in the dataflow.
const TABLE_JOIN_AGGREGATE: &str = "Aggregate over a table join";

/// A stream's join with a static table, as the fused aggregation above it needs it.
pub(super) struct TableJoinInput<'s> {
    /// The stream side (the join's left), read in place when it is a source held in memory.
    pub(super) stream: StreamRows<'s>,
    /// The stream rows' width: the joined row's columns from here on are the table's.
    pub(super) left_width: usize,
    /// The table side, static.
    pub(super) table: Rows<'s>,
    /// Whether every worker has all of the table's rows already (each read its files), so
    /// that it is not broadcast.
    pub(super) table_on_every_worker: bool,
    pub(super) kind: JoinKind,
    pub(super) left_keys: Vec<BoundExpr>,
    pub(super) right_keys: Vec<BoundExpr>,
    /// The table's columns that the joined row keeps, in order.
    pub(super) right_columns: Vec<usize>,
}

/// The durable wiring of a fused fold, its keys stored as rows (see [`Durable::map_keys`]).
pub(super) type DurableFold<'s> = Option<Durable<'s, u64, Row, States>>;

/// A key of one value, stored as a row of it.
fn value_row(value: &Value) -> Row {
    Row::from(vec![value.clone()])
}

/// The value of a key stored as a row of it.
fn row_value(row: Row) -> Value {
    row.into_iter().next().unwrap_or(Value::Null)
}

/// Folds the rows of `join` grouped by one column of its table (see [`GroupedByTable`]); on
/// a BIGINT join key (`integer_key`) the table is keyed by the integer itself.
pub(super) fn aggregate_grouped<'s>(
    join: TableJoinInput<'s>,
    grouped: GroupedByTable,
    columns: ColumnFold,
    integer_key: bool,
    durable: DurableFold<'s>,
    changes: Changes,
) -> (Rows<'s>, Figures<'s>) {
    if integer_key {
        return grouped.aggregate::<i64>(join, columns, durable, changes);
    }
    grouped.aggregate::<Value>(join, columns, durable, changes)
}

/// Folds the rows of `join` by their key and argument columns, read where they lie (see
/// [`ColumnFold`]); output rows are the keys followed by the aggregate values.
pub(super) fn aggregate_columns<'s>(
    join: TableJoinInput<'s>,
    columns: ColumnFold,
    durable: DurableFold<'s>,
    changes: Changes,
) -> (Rows<'s>, Figures<'s>) {
    let TableJoinInput {
        stream,
        left_width,
        table,
        table_on_every_worker,
        kind,
        left_keys,
        right_keys,
        right_columns,
    } = join;
    let probe = TableProbe::new(left_keys, TableJoin::new(kind, &right_columns));
    let table = as_table(
        probe_table(table, right_keys, right_columns),
        table_on_every_worker,
    );
    if columns.key_columns.len() == 1 {
        // One key column: the states are keyed by its value, not by a row of it.
        let durable = durable.map(|d| d.map_keys(value_row, row_value));
        let (results, figures) = fold_table_columns(
            stream,
            table,
            probe,
            left_width,
            columns,
            ColumnFold::fold_one,
            durable,
            changes,
        );
        let rows = gather_sorted(results, GATHER).map(|(key, values)| prepend(key, &values));
        return (rows, figures);
    }
    let (results, figures) = fold_table_columns(
        stream,
        table,
        probe,
        left_width,
        columns,
        ColumnFold::fold,
        durable,
        changes,
    );
    (
        gather_sorted(results, GATHER).map(|(key, values)| key.concat(&values)),
        figures,
    )
}

/// The table as the fused operator takes it: as it is when every worker holds it whole,
/// otherwise to be broadcast.
fn as_table<K: 'static, V: 'static>(
    updates: VecCollection<'_, u64, (K, V), isize>,
    on_every_worker: bool,
) -> Table<'_, u64, K, V> {
    if on_every_worker {
        Table::on_every_worker(updates)
    } else {
        updates.into()
    }
}

/// The output row of a one-column key: the key followed by the aggregate values.
fn prepend(key: Value, values: &Row) -> Row {
    let mut row = Row::with_capacity(1 + values.len());
    row.push(key);
    values.iter().cloned().for_each(|v| row.push(v));
    row
}

/// The general fused fold: each stream row is joined with its matches and the joined rows run
/// through `pipeline` into their keys' states.
pub(super) fn fold_joined_rows<'s>(
    join: TableJoinInput<'s>,
    pipeline: Pipeline,
    keys: Vec<BoundExpr>,
    accumulators: Vec<Accumulator>,
    durable: DurableFold<'s>,
    changes: Changes,
) -> (Rows<'s>, Figures<'s>) {
    let probe = TableProbe::new(join.left_keys, TableJoin::new(join.kind, &join.right_columns));
    let table = as_table(
        probe_table(join.table, join.right_keys, join.right_columns),
        join.table_on_every_worker,
    );
    let fold = RowFold::new(pipeline, keys, accumulators);
    let aggregation = fold.aggregation.clone();
    let rows_of = join.stream.rows_of;
    let (results, figures) = lookup_aggregate_durable(
        join.stream.records,
        table,
        TABLE_JOIN_AGGREGATE,
        aggregation,
        move |record: Row, diff, table, states| {
            rows_of.for_each(&record, |row| {
                probe.join(row, table, &mut |joined, n| {
                    fold.pipeline.run(joined, &mut |r| fold.fold(r, diff * n, states))
                })
            })
        },
        durable.map(RowFold::durable_keys),
        changes,
    );
    let rows = gather_sorted(results, GATHER).map(|(key, values)| key.into_row().concat(&values));
    (rows, figures)
}

/// A [`ColumnFold`] method folding a row, given by its columns, into states keyed by `K`.
type ColumnFoldFn<K> =
    for<'v> fn(&ColumnFold, &dyn Fn(usize) -> &'v Value, isize, &mut PartialStates<K, States>);

/// The column fold of a stream joined with a table (see [`aggregate_columns`]), keyed by
/// `K` and folded by `fold`: each column is read from the stream row or from the table row it
/// matched, and a LEFT join's unmatched row reads nulls for the table's columns.
#[allow(clippy::too_many_arguments)] // the operator's wiring, each argument used once
fn fold_table_columns<'s, K: differential_dataflow::ExchangeData + Hash>(
    stream: StreamRows<'s>,
    table: Table<'s, u64, JoinKey, Kept>,
    probe: TableProbe,
    left_width: usize,
    columns: ColumnFold,
    fold: ColumnFoldFn<K>,
    durable: Option<Durable<'s, u64, K, States>>,
    changes: Changes,
) -> (VecCollection<'s, u64, (K, Row), isize>, Figures<'s>) {
    let aggregation = columns.aggregation.clone();
    let rows_of = stream.rows_of;
    lookup_aggregate_durable(
        stream.records,
        table,
        TABLE_JOIN_AGGREGATE,
        aggregation,
        move |record: Row, diff, table, states| {
            rows_of.for_each(&record, |row| {
                let matches = probe.matches(row, table);
                for (kept, n) in matches {
                    let column = |i: usize| joined_column(row, kept, left_width, i);
                    fold(&columns, &column, diff * n, states);
                }
                if matches.is_empty() && probe.keeps_unmatched() {
                    let column = |i: usize| joined_column(row, &[], left_width, i);
                    fold(&columns, &column, diff, states);
                }
            })
        },
        durable,
        changes,
    )
}

/// Column `i` of the row `stream` joined with the table's kept columns `kept` (empty, so all
/// null, for a LEFT join's unmatched row).
fn joined_column<'v>(stream: &'v [Value], kept: &'v [Value], left_width: usize, i: usize) -> &'v Value {
    match i.checked_sub(left_width) {
        None => stream.get(i).unwrap_or(&NULL),
        Some(j) => kept.get(j).unwrap_or(&NULL),
    }
}

/// The null a column fold reads for a missing column (a LEFT join's padding).
static NULL: Value = Value::Null;

/// The fold of rows that are never built: keys and aggregate arguments are plain columns, read
/// through a function from column position to value (a stream row and the table row it joined).
pub(crate) struct ColumnFold {
    key_columns: Vec<usize>,
    /// Each aggregate's argument column (`None` for `count(*)`).
    argument_columns: Vec<Option<usize>>,
    aggregation: RowAggregation,
}

impl ColumnFold {
    /// The column fold of an aggregation with no per-row steps whose keys and arguments are all
    /// columns.
    pub(super) fn detect(
        pipeline: &Pipeline,
        keys: &[BoundExpr],
        accumulators: &[Accumulator],
    ) -> Option<Self> {
        let column = |e: &BoundExpr| match e {
            BoundExpr::Column(i) => Some(*i),
            _ => None,
        };
        if !pipeline.is_empty() {
            return None;
        }
        let key_columns = keys.iter().map(column).collect::<Option<Vec<_>>>()?;
        let argument_columns = accumulators
            .iter()
            .map(|a| match a.argument() {
                None => Some(None),
                Some(e) => column(e).map(Some),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(ColumnFold {
            key_columns,
            argument_columns,
            aggregation: RowAggregation {
                accumulators: accumulators.into(),
            },
        })
    }

    /// Folds the row whose columns `column` gives, present `diff` times, into the state of its
    /// key (a row of the key columns).
    fn fold<'v>(
        &self,
        column: &dyn Fn(usize) -> &'v Value,
        diff: isize,
        states: &mut PartialStates<Row, States>,
    ) {
        let key: Row = self.key_columns.iter().map(|&i| column(i).clone()).collect();
        let state = states.entry(key).or_insert_with(|| self.aggregation.init());
        self.update(state, column, diff)
    }

    /// As [`fold`](Self::fold) for a key of one column, the states keyed by its value.
    fn fold_one<'v>(
        &self,
        column: &dyn Fn(usize) -> &'v Value,
        diff: isize,
        states: &mut PartialStates<Value, States>,
    ) {
        fold_into(self, states, column(self.key_columns[0]), column, diff)
    }

    /// Folds the argument columns into a key's states.
    fn update<'v>(&self, state: &mut States, column: impl Fn(usize) -> &'v Value, diff: isize) {
        for ((acc, state), argument) in self
            .aggregation
            .accumulators
            .iter()
            .zip(state.iter_mut())
            .zip(&self.argument_columns)
        {
            acc.update(state, argument.map_or(&NULL, &column), diff);
        }
    }
}

/// The fold of a join grouped by one column of the table, on one key column: the group of a
/// stream row is a function of the table row it matches, so it is worked out, hashed and
/// shared, once, when the table loads. A stream row then costs a probe of the table by its
/// key's value and a probe of the states by a hash already known, whose key compares equal by
/// pointer.
pub(crate) struct GroupedByTable {
    /// The stream row's join key column.
    left_key: usize,
    /// The grouping column, among the table's kept columns.
    group_column: usize,
    /// Whether an aggregate reads a column of the table: if none does, a table row keeps only
    /// its group, so the table's entries stay small.
    keeps_columns: bool,
    /// The group of a LEFT join's unmatched rows: null.
    null_group: Group,
}

/// A group's value, hashed once and shared by all the table rows of the group (an `Arc` of an
/// `Eq` type compares equal by pointer before it compares values).
type Group = Arc<HashedValue>;

/// What a table row brings to the fold: its group, and the columns the aggregates read (none
/// unless an aggregate reads the table; the rows of a group then share one).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct GroupedRow {
    group: Group,
    kept: Kept,
}

/// A table's rows by their join key.
type GroupedTable<'s, K> = VecCollection<'s, u64, (K, Arc<GroupedRow>), isize>;

/// How a table of a [`GroupedByTable`] fold is keyed: by the join key's value, or by the
/// integer itself for a BIGINT key (a table probed once per stream row is probed at the speed
/// of its cache misses, and an integer key makes each entry 16 bytes smaller).
trait TableKey: differential_dataflow::ExchangeData + Hash + Sized {
    /// The key of a table row whose join key is `value`; `None` for a key that matches nothing
    /// (null).
    fn of(value: Value) -> Option<Self>;

    /// The rows of `table` that a stream row whose join column holds `value` matches.
    fn matches<'t, V>(table: &'t TableRows<Self, V>, value: &Value) -> &'t [(V, isize)];
}

impl TableKey for Value {
    fn of(value: Value) -> Option<Self> {
        (!value.is_null()).then_some(value)
    }

    fn matches<'t, V>(table: &'t TableRows<Self, V>, value: &Value) -> &'t [(V, isize)] {
        if value.is_null() {
            &[]
        } else {
            table.get(value)
        }
    }
}

impl TableKey for i64 {
    fn of(value: Value) -> Option<Self> {
        value.as_i64()
    }

    fn matches<'t, V>(table: &'t TableRows<Self, V>, value: &Value) -> &'t [(V, isize)] {
        match value {
            Value::Int(key) => table.get(key),
            _ => &[],
        }
    }
}

impl GroupedByTable {
    /// The grouping of `columns` over the join `on`, if it is by one column of the table and
    /// the join is on one column.
    pub(super) fn detect(on: &JoinOn<'_>, columns: &ColumnFold) -> Option<Self> {
        let ([BoundExpr::Column(left_key)], [_]) = (on.left_keys, on.right_keys) else {
            return None;
        };
        let [key] = columns.key_columns.as_slice() else {
            return None;
        };
        let left_width = on.left_width();
        let group_column = key.checked_sub(left_width)?;
        let keeps_columns = columns
            .argument_columns
            .iter()
            .flatten()
            .any(|&i| i >= left_width);
        (group_column < on.right_columns.len()).then(|| GroupedByTable {
            left_key: *left_key,
            group_column,
            keeps_columns,
            null_group: Arc::new(HashedValue::new(Value::Null)),
        })
    }

    /// The table keyed by its join key, each row with its group (rows whose key is null match
    /// nothing and are left out, as in SQL).
    fn table<'s, K: TableKey>(
        &self,
        table: Rows<'s>,
        right_key: BoundExpr,
        right_columns: Vec<usize>,
    ) -> GroupedTable<'s, K> {
        let group_column = right_columns[self.group_column];
        let keeps_columns = self.keeps_columns;
        // Each group's row without columns, made (and its value hashed) once per group: the
        // whole of what a table row brings when no aggregate reads the table.
        let mut groups: foldhash::HashMap<Value, Arc<GroupedRow>> = Default::default();
        table.flat_map(move |row| {
            let key = K::of(right_key.eval(&row))?;
            let value = row.get(group_column).cloned().unwrap_or(Value::Null);
            let group = match groups.get(&value) {
                Some(group) => group.clone(),
                None => {
                    let group = Arc::new(GroupedRow {
                        group: Arc::new(HashedValue::new(value.clone())),
                        kept: Kept::new(),
                    });
                    groups.insert(value, group.clone());
                    group
                }
            };
            if !keeps_columns {
                return Some((key, group));
            }
            let kept = right_columns
                .iter()
                .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
                .collect();
            Some((
                key,
                Arc::new(GroupedRow {
                    group: group.group.clone(),
                    kept,
                }),
            ))
        })
    }

    fn aggregate<'s, K: TableKey>(
        self,
        join: TableJoinInput<'s>,
        columns: ColumnFold,
        durable: DurableFold<'s>,
        changes: Changes,
    ) -> (Rows<'s>, Figures<'s>) {
        let TableJoinInput {
            stream,
            left_width,
            table,
            table_on_every_worker,
            kind,
            mut right_keys,
            right_columns,
            ..
        } = join;
        let table = as_table(
            self.table::<K>(table, right_keys.remove(0), right_columns),
            table_on_every_worker,
        );
        let keeps_unmatched = kind == JoinKind::Left;
        let aggregation = columns.aggregation.clone();
        let rows_of = stream.rows_of;
        // A group is stored as its value, and hashed again when it is restored.
        let durable = durable.map(|d| {
            d.map_keys(
                |group: &Group| value_row(&group.value),
                |row| Arc::new(HashedValue::new(row_value(row))),
            )
        });
        let (results, figures) = lookup_aggregate_durable(
            stream.records,
            table,
            TABLE_JOIN_AGGREGATE,
            aggregation,
            move |record: Row, diff, table: &TableRows<K, Arc<GroupedRow>>, states| {
                rows_of.for_each(&record, |row| {
                    let matches = row
                        .get(self.left_key)
                        .map_or(&[][..], |key| K::matches(table, key));
                    for (grouped, n) in matches {
                        let column = |i: usize| joined_column(row, &grouped.kept, left_width, i);
                        fold_into(&columns, states, &grouped.group, column, diff * n);
                    }
                    if matches.is_empty() && keeps_unmatched {
                        let column = |i: usize| joined_column(row, &[], left_width, i);
                        fold_into(&columns, states, &self.null_group, column, diff);
                    }
                })
            },
            durable,
            changes,
        );
        let rows =
            gather_sorted(results, GATHER).map(|(group, values)| prepend(group.value.clone(), &values));
        (rows, figures)
    }
}

/// Folds the row whose columns `column` gives into the states of `key`; an owned key and a
/// new state are made only for a key new in the epoch.
fn fold_into<'v, K, Q>(
    columns: &ColumnFold,
    states: &mut PartialStates<K, States>,
    key: &Q,
    column: impl Fn(usize) -> &'v Value,
    diff: isize,
) where
    K: std::borrow::Borrow<Q> + Hash + Eq,
    Q: ToOwned<Owned = K> + Hash + Eq + ?Sized,
{
    match states.get_mut(key) {
        Some(state) => columns.update(state, column, diff),
        None => {
            let mut state = columns.aggregation.init();
            columns.update(&mut state, column, diff);
            states.insert(key.to_owned(), state);
        }
    }
}

/// A value with its hash worked out once, where it is made: a hash map keyed by it hashes
/// eight bytes and compares the hashes before the values. The hash is seeded with a fixed
/// seed, so it is the same on every worker and in every process (the partial states are
/// exchanged by it). Ordered by the value alone, as the output is.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct HashedValue {
    hash: u64,
    value: Value,
}

impl HashedValue {
    fn new(value: Value) -> Self {
        let hash = foldhash::fast::FixedState::default().hash_one(&value);
        HashedValue { hash, value }
    }
}

impl PartialEq for HashedValue {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.value == other.value
    }
}

impl Eq for HashedValue {}

impl Hash for HashedValue {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash)
    }
}

impl Ord for HashedValue {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl PartialOrd for HashedValue {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_values_are_equal_exactly_when_their_values_are() {
        let a = HashedValue::new(Value::str("NO"));
        assert_eq!(a, HashedValue::new(Value::str("NO")));
        assert_ne!(a, HashedValue::new(Value::str("SE")));
        // Equal values hash equally even when built from different representations.
        assert_eq!(
            HashedValue::new(Value::Float(-0.0)),
            HashedValue::new(Value::Float(0.0))
        );
        assert_eq!(
            a.cmp(&HashedValue::new(Value::str("SE"))),
            std::cmp::Ordering::Less,
            "ordered by value, not by hash"
        );
    }
}
