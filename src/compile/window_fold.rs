//! The fold of a windowed group-by in its common shape: `GROUP BY window(ts, ..), k1, k2, ..`
//! over columns of the input (after any filters and projections), with aggregates of columns.
//!
//! The general path explodes each event into a row per window (the window a struct value),
//! then looks the row's key up through [`Value`]'s hashing and ordering, the window's struct
//! field by field. Here an event's windows are their start times: the key is the start as an
//! integer and the other keys borrowed from the input row, so an event costs one probe of a
//! small key and no row. The key orders as the general path's key row does (all of a query's
//! windows have one length, so starts order as windows), hashes as its parts, and is stored in
//! a checkpoint as that key row, so either path restores the other's state.

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use hashbrown::hash_map::EntryRef;
use hashbrown::Equivalent;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use tidewater_operators::{aggregate_append_only_counted, Aggregation, Changes, Durable, PartialStates};

use super::aggregate::{
    expire, expiry_of, fold_argument, key_values, output_rows, Expiring, Figures, RowAggregation, States,
};
use super::pipeline::{computed_once, passed_on, Pipeline};
use super::Rows;
use crate::data::{text_prefix, KeyRow, Row, Value};
use crate::expr::{window_starts, Accumulator, BoundExpr};
use crate::plan::Projection;

/// A windowed group's key: its window's start (microseconds) and the other keys' values, in
/// the order of the `GROUP BY` after the window.
///
/// Keys are sorted where the watermark closes their windows (all of one window at once), so
/// the comparison after the start is mostly of the first other key: when that is a text or an
/// integer, it is kept beside the row as a number ([`FirstKey`]), which decides most
/// comparisons without reading the values.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct WindowedKey {
    start: i64,
    others: KeyRow,
    /// The first other key, as a number.
    first: FirstKey,
}

/// The first other key of a [`WindowedKey`] as a number that orders as the value does: a
/// text's [`text_prefix`], which ties for texts that share their first eight bytes, or an
/// integer itself. Two are compared only when of the same kind: a column's values are (but
/// for nulls) of its one type, and mixed numbers are left to the values' own order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
enum FirstKey {
    /// No other key, or one of another type.
    Other,
    Text(u64),
    Int(i64),
}

impl FirstKey {
    /// The first of `others`, as a number.
    fn of(others: &[Value]) -> Self {
        match others.first() {
            Some(Value::Str(text)) => FirstKey::Text(text_prefix(text)),
            Some(Value::Int(n)) => FirstKey::Int(*n),
            _ => FirstKey::Other,
        }
    }
}

/// A [`WindowedKey`] borrowed from an event: the map is probed with it, and a key is built only
/// for a group new in the epoch.
struct WindowedKeyRef<'a> {
    start: i64,
    others: &'a [Value],
}

/// Hashes a key's parts: the one hash of a [`WindowedKey`] and of its borrowed form.
fn hash_parts<H: Hasher>(start: i64, others: &[Value], state: &mut H) {
    state.write_i64(start);
    others.hash(state);
}

impl Hash for WindowedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.start, &self.others, state)
    }
}

impl Hash for WindowedKeyRef<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(self.start, self.others, state)
    }
}

impl Equivalent<WindowedKey> for WindowedKeyRef<'_> {
    fn equivalent(&self, key: &WindowedKey) -> bool {
        self.start == key.start && self.others == &key.others[..]
    }
}

impl From<&WindowedKeyRef<'_>> for WindowedKey {
    fn from(key: &WindowedKeyRef<'_>) -> Self {
        WindowedKey {
            start: key.start,
            others: KeyRow::from(key.others),
            first: FirstKey::of(key.others),
        }
    }
}

impl PartialEq for WindowedKey {
    fn eq(&self, other: &Self) -> bool {
        self.start == other.start && self.others[..] == other.others[..]
    }
}

impl Eq for WindowedKey {}

impl Ord for WindowedKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.start
            .cmp(&other.start)
            .then_with(|| match (self.first, other.first) {
                (FirstKey::Text(mine), FirstKey::Text(theirs)) if mine != theirs => mine.cmp(&theirs),
                (FirstKey::Int(mine), FirstKey::Int(theirs)) => mine
                    .cmp(&theirs)
                    .then_with(|| self.others[1..].cmp(&other.others[1..])),
                _ => self.others[..].cmp(&other.others[..]),
            })
    }
}

impl PartialOrd for WindowedKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl WindowedKey {
    /// The key row of the general path: the other keys with the window `[start, start + size)`
    /// at position `window_at` among them.
    fn to_row(&self, size: i64, window_at: usize) -> Row {
        self.row_with(size, window_at, &[])
    }

    /// The key row followed by `values` (an output row: the aggregates' results).
    fn row_with(&self, size: i64, window_at: usize, values: &[Value]) -> Row {
        let mut row = Row::with_capacity(1 + self.others.len() + values.len());
        let (before, after) = self.others.split_at(window_at.min(self.others.len()));
        for value in before {
            row.push(value.clone());
        }
        row.push(Value::window(self.start, self.start + size));
        for value in after.iter().chain(values) {
            row.push(value.clone());
        }
        row
    }

    /// The key of a key row of the general path (as a checkpoint stores it), whose window is at
    /// position `window_at`. A row without a window there (which no query of this shape
    /// stores) keeps its window's place with the least start, which closes at once, and is
    /// logged.
    fn from_row(row: Row, window_at: usize) -> Self {
        let mut others: Vec<Value> = row.into_iter().collect();
        let window = (window_at < others.len()).then(|| others.remove(window_at));
        let start = window.as_ref().and_then(Value::window_start);
        let start = start.unwrap_or_else(|| {
            tracing::warn!(
                ?window,
                "a restored windowed key has no window; it closes at once"
            );
            i64::MIN / 2
        });
        let others = KeyRow::from(others.into_iter().collect::<Row>());
        WindowedKey {
            start,
            first: FirstKey::of(&others),
            others,
        }
    }
}

/// The durable wiring of a fold by window start, whose checkpoint stores keys as the general
/// path's key rows (the window at `window_at` among the keys), so that either path restores
/// the other's state.
fn durable_windowed_keys<'s>(
    durable: Durable<'s, u64, Row, States>,
    size: i64,
    window_at: usize,
) -> Durable<'s, u64, WindowedKey, States> {
    durable.map_keys(
        move |key: &WindowedKey| key.to_row(size, window_at),
        move |row| WindowedKey::from_row(row, window_at),
    )
}

/// Where an aggregate's argument comes from, over the input row.
#[derive(Clone)]
enum Argument {
    /// No argument (`count(*)`).
    Nothing,
    /// An expression over the input row (a projected column).
    Input(BoundExpr),
    /// The event's window.
    Window,
}

/// The fold of a windowed group-by in the shape described in the module's docs.
pub(crate) struct WindowedFold {
    /// The window's position among the keys.
    window_at: usize,
    /// The steps before the windows' projection (filters, projections without a generator),
    /// each making at most one row of an input row.
    before: Pipeline,
    /// The event time the windows are of, over the input row.
    time: BoundExpr,
    /// The windows' length and slide, microseconds.
    size: i64,
    slide: i64,
    /// The keys after the window, over the input row.
    others: Vec<BoundExpr>,
    /// Each aggregate's argument.
    arguments: Vec<Argument>,
    aggregation: RowAggregation,
}

impl WindowedFold {
    /// The fold, if the aggregation has its shape: the pipeline is steps making at most one row
    /// of each (filters, plain projections) then a projection exploding `window(..)`; the
    /// window is a key (the first, `window_key` 0, for a fold that forgets closed windows,
    /// whose output comes in the order of its keys) and the other keys are projected columns;
    /// every aggregate's argument is a projected column or none.
    pub(crate) fn detect(
        pipeline: &Pipeline,
        keys: &[BoundExpr],
        accumulators: &[Accumulator],
        window_key: usize,
    ) -> Option<Self> {
        let (before, columns, windows) = pipeline.as_filtered_windows()?;
        let BoundExpr::SlidingWindows(time, size, slide) = windows else {
            return None;
        };
        let Some(BoundExpr::Column(window)) = keys.get(window_key) else {
            return None;
        };
        if !matches!(columns.get(*window), Some(Projection::Generated)) {
            return None;
        }
        let scalar = |key: &BoundExpr| match key {
            BoundExpr::Column(j) => match columns.get(*j)? {
                Projection::Scalar(e) => Some(e.clone()),
                Projection::Generated => None,
            },
            _ => None,
        };
        let others = keys
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != window_key)
            .map(|(_, key)| scalar(key))
            .collect::<Option<Vec<_>>>()?;
        let arguments = accumulators
            .iter()
            .map(|a| match a.argument() {
                None => Some(Argument::Nothing),
                Some(BoundExpr::Column(j)) => match columns.get(*j)? {
                    Projection::Scalar(e) => Some(Argument::Input(e.clone())),
                    Projection::Generated => Some(Argument::Window),
                },
                // An expression (`max_by`'s pair of value and ordering) of columns the
                // projection passes on: the same expression over the input row.
                Some(argument) => argument
                    .over_columns(&|j| passed_on(columns, j))
                    .map(Argument::Input),
            })
            .collect::<Option<Vec<_>>>()?;
        let mut fold = WindowedFold {
            window_at: window_key,
            before,
            time: (**time).clone(),
            size: *size,
            slide: *slide,
            others,
            arguments,
            aggregation: RowAggregation {
                accumulators: accumulators.into(),
            },
        };
        while let Some(inlined) = fold.without_last_projection() {
            fold = inlined;
        }
        Some(fold)
    }

    /// The fold with the projection its steps end with computed inside it: the time and the
    /// other keys read that projection's input, each computed column's expression in its place,
    /// so that no row is built for an event (a computed event time, `ts AS
    /// timestamp_millis(dateTime)`, is the common case; Spark's `CollapseProject` does the
    /// same). Only when that computes nothing twice: each computed column is read at most once
    /// by the time and keys (evaluated once an event), and the arguments (evaluated in each of
    /// an event's windows) read only columns the projection passes on as they are. Columns
    /// nothing reads are not computed, as Spark prunes them.
    fn without_last_projection(&self) -> Option<WindowedFold> {
        let below = self.before.last_projection()?;
        let mut reads = vec![0u32; below.len()];
        let (time, others) = {
            let mut computed = |j: usize| match below.get(j)? {
                Projection::Scalar(e) => {
                    reads[j] += 1;
                    Some(e.clone())
                }
                Projection::Generated => None,
            };
            let time = self.time.with_columns(&mut computed)?;
            let others = self
                .others
                .iter()
                .map(|key| key.with_columns(&mut computed))
                .collect::<Option<Vec<_>>>()?;
            (time, others)
        };
        if !computed_once(&reads, below) {
            return None;
        }
        let arguments = self
            .arguments
            .iter()
            .map(|argument| match argument {
                Argument::Input(e) => e.over_columns(&|j| passed_on(below, j)).map(Argument::Input),
                other => Some(other.clone()),
            })
            .collect::<Option<Vec<_>>>()?;
        Some(WindowedFold {
            window_at: self.window_at,
            before: self.before.without_last(),
            time,
            size: self.size,
            slide: self.slide,
            others,
            arguments,
            aggregation: self.aggregation.clone(),
        })
    }

    /// As [`aggregate_expiring`](super::aggregate::aggregate_expiring), by this fold, whose
    /// window is the first key: output rows are the window, the other keys, then the aggregate
    /// values.
    pub(super) fn aggregate<'s>(
        self,
        rows: Rows<'s>,
        expiring: Expiring<'s>,
        durable: Option<Durable<'s, u64, Row, States>>,
    ) -> (Rows<'s>, tidewater_operators::aggregate::Dropped<'s>, Figures<'s>) {
        let (size, window_at, aggregation) = (self.size, self.window_at, self.aggregation.clone());
        let closes_at = move |key: &WindowedKey| Some(key.start + size);
        let gathered = expiring.gathered;
        let (expiry, name) = expiry_of(expiring, Box::new(closes_at));
        let fold = move |row: Row, diff, states: &mut PartialStates<WindowedKey, States>| {
            self.fold(row, diff, states)
        };
        let durable = durable.map(|d| durable_windowed_keys(d, size, window_at));
        let (results, dropped, figures) = expire(rows, name, aggregation, expiry, fold, durable);
        let rows = output_rows(results, gathered, move |(key, values): (WindowedKey, Row)| {
            key.row_with(size, window_at, &values)
        });
        (rows, dropped, figures)
    }

    /// As [`RowFold::aggregate`](super::aggregate::RowFold::aggregate), by this fold: every
    /// window is kept (complete mode, or no watermark on the window's time), and output rows
    /// are the keys with the window in its place, then the aggregate values, emitted as
    /// `changes`. They come in the order of the general path's key rows when the window is the
    /// first key ([`keeps_row_order`](Self::keeps_row_order)).
    pub(super) fn aggregate_kept<'s>(
        self,
        rows: Rows<'s>,
        durable: Option<Durable<'s, u64, Row, States>>,
        (changes, gathered): (Changes, bool),
    ) -> (Rows<'s>, Figures<'s>) {
        let (size, window_at, aggregation) = (self.size, self.window_at, self.aggregation.clone());
        let fold = move |row: Row, diff, states: &mut PartialStates<WindowedKey, States>| {
            self.fold(row, diff, states)
        };
        let durable = durable.map(|d| durable_windowed_keys(d, size, window_at));
        let (results, figures) =
            aggregate_append_only_counted(rows, "Aggregate", aggregation, fold, durable, changes, None);
        let rows = output_rows(results, gathered, move |(key, values): (WindowedKey, Row)| {
            key.row_with(size, window_at, &values)
        });
        (rows, figures)
    }

    /// True when an event's keys and time are read from it as it comes, no row built for it:
    /// the steps before the windows only filter.
    pub(crate) fn builds_no_row_per_event(&self) -> bool {
        self.before.only_filters()
    }

    /// Whether the output rows come sorted as rows: keys order by window start first, as key
    /// rows do when the window is the first key.
    pub(super) fn keeps_row_order(&self) -> bool {
        self.window_at == 0
    }

    /// Folds `row`, present `diff` times, into the state of each of its windows' groups.
    fn fold(&self, row: Row, diff: isize, states: &mut PartialStates<WindowedKey, States>) {
        // Filters pass the row on as it is; a projection builds the one row it makes.
        self.before
            .run(row, &mut |row| self.fold_windows(&row, diff, states))
    }

    /// Folds `row`, out of the steps before the windows, into its windows' groups.
    fn fold_windows(&self, row: &Row, diff: isize, states: &mut PartialStates<WindowedKey, States>) {
        // A null time is in no window, as the general path's explode has it.
        let Value::Timestamp(time) = self.time.eval(row) else {
            return;
        };
        let mut evaluated = SmallVec::new();
        let others = key_values(&self.others, row, &mut evaluated);
        window_starts(time, self.size, self.slide, |start| {
            let key = WindowedKeyRef { start, others };
            let state = match states.entry_ref(&key) {
                EntryRef::Occupied(entry) => entry.into_mut(),
                EntryRef::Vacant(entry) => {
                    entry.insert_with_key(WindowedKey::from(&key), self.aggregation.init())
                }
            };
            self.fold_arguments(state, row, start, diff);
        })
    }

    /// Folds the aggregates' arguments of `row`, in the window starting at `start`.
    fn fold_arguments(&self, states: &mut States, row: &[Value], start: i64, diff: isize) {
        let accumulators = self.aggregation.accumulators.iter();
        for ((accumulator, state), argument) in accumulators.zip(states.iter_mut()).zip(&self.arguments) {
            match argument {
                Argument::Nothing => accumulator.update(state, &Value::Null, diff),
                Argument::Input(e) => fold_argument(accumulator, state, e, row, diff),
                Argument::Window => accumulator.update(state, &Value::window(start, start + self.size), diff),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::hash_map::DefaultHasher;

    use super::*;

    const SIZE: i64 = 10;

    fn key(start: i64, others: &[Value]) -> WindowedKey {
        WindowedKey::from(&WindowedKeyRef { start, others })
    }

    fn hash_of(value: &impl Hash) -> u64 {
        let mut hasher = DefaultHasher::new();
        value.hash(&mut hasher);
        hasher.finish()
    }

    /// Keys order, equal and round-trip as the general path's key rows: texts that share their
    /// first eight bytes, or differ past them, multi-byte text, nulls, integers (at their
    /// limits too) beside texts, and doubles beside integers of the same value.
    #[test]
    fn keys_order_as_their_key_rows() {
        let firsts = [
            Value::Null,
            Value::Int(i64::MIN),
            Value::Int(-3),
            Value::Int(3),
            Value::Float(3.0),
            Value::Int(4),
            Value::Int(i64::MAX),
            Value::str(""),
            Value::str("a"),
            Value::str("a\0"),
            Value::str("abcdefgh"),
            Value::str("abcdefgh\0"),
            Value::str("abcdefghi"),
            Value::str("abcdefgz"),
            Value::str("Ünïcödé"),
            Value::str("zzzzzzzzzzzzzzzzzzzzzzzzzzzzz"),
        ];
        let seconds = [Value::Null, Value::Int(-1), Value::str("x")];
        let mut keys = Vec::new();
        for start in [-SIZE, 0, SIZE] {
            for first in &firsts {
                for second in &seconds {
                    keys.push(key(start, &[first.clone(), second.clone()]));
                }
                keys.push(key(start, std::slice::from_ref(first)));
            }
        }
        for a in &keys {
            let row_a = a.to_row(SIZE, 0);
            assert_eq!(WindowedKey::from_row(row_a.clone(), 0), *a);
            assert_eq!(WindowedKey::from_row(row_a.clone(), 0).first, a.first);
            // With the window elsewhere among the keys, the row round-trips too.
            let at = a.others.len();
            assert_eq!(WindowedKey::from_row(a.to_row(SIZE, at), at), *a);
            let borrowed = WindowedKeyRef {
                start: a.start,
                others: &a.others,
            };
            assert_eq!(hash_of(a), hash_of(&borrowed));
            assert!(borrowed.equivalent(a));
            for b in &keys {
                let row_b = b.to_row(SIZE, 0);
                assert_eq!(a.cmp(b), row_a.cmp(&row_b), "{row_a:?} against {row_b:?}");
                assert_eq!(a == b, row_a == row_b);
            }
        }
    }
}
