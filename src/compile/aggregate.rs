//! `Aggregate`: the per-key accumulator for append-only inputs (in the word count's shape, a
//! count per piece of text; grouped by a window of the watermark, one that forgets closed
//! windows), differential's `reduce` for inputs that can retract. Which one runs is chosen in
//! [`physical`](super::physical).

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use differential_dataflow::collection::{AsCollection, VecCollection};
use hashbrown::hash_map::EntryRef;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use smol_str::SmolStr;
use tidewater_operators::{
    aggregate_append_only_counted, gather_sorted_map, Aggregation, Changes, Count, Durable, KeyFigures,
    KeyPrefix, PartialStates,
};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline as SameWorker;
use timely::dataflow::operators::generic::Operator as _;

use super::pipeline::Pipeline;
use super::Rows;
use crate::data::{text_prefix, KeyRow, Row, Value};
use crate::expr::{Accumulator, AggState, BoundExpr, ScalarFunc};

/// Each worker's figures of the keys an aggregation holds, per epoch.
pub(crate) type Figures<'s> = VecCollection<'s, u64, KeyFigures, isize>;

/// The states of all aggregates of one key, kept for as long as the key lives: a boxed slice,
/// 16 bytes in the key's entry and the states on the heap. (Measured on 5M keys, this peaks
/// lower than states inline in the entry under glibc's malloc: bench/README.md, "Memory per key".) Serialized as a
/// sequence, as a vector is.
pub(crate) type States = Box<[AggState]>;

/// The aggregates of a query as one [`Aggregation`] over the evaluated arguments (one value per
/// aggregate, `Null` for `count(*)`).
#[derive(Clone)]
pub(super) struct RowAggregation {
    pub(super) accumulators: std::sync::Arc<[Accumulator]>,
}

impl RowAggregation {
    fn fold(&self, states: &mut States, args: &Row, times: isize) {
        for ((acc, state), value) in self.accumulators.iter().zip(states.iter_mut()).zip(args.iter()) {
            acc.update(state, value, times);
        }
    }

    /// Folds `row`, present `times` times, into `states`, evaluating each aggregate's argument
    /// over it (a column argument is borrowed, not cloned).
    fn fold_row(&self, states: &mut States, row: &[Value], times: isize) {
        for (acc, state) in self.accumulators.iter().zip(states.iter_mut()) {
            match acc.argument() {
                None => acc.update(state, &Value::Null, times),
                Some(argument) => fold_argument(acc, state, argument, row, times),
            }
        }
    }

    fn results(&self, states: &States) -> Row {
        self.accumulators
            .iter()
            .zip(states.iter())
            .map(|(acc, state)| acc.result(state))
            .collect()
    }
}

/// Folds the value of `argument` in `row`, present `times` times, into `state`: a column's
/// value borrowed, not cloned; the `struct(ordering, x)` pair of `min_by` or `max_by` built only
/// when it replaces the held one ([`Accumulator::update_pair`]); anything else evaluated.
pub(super) fn fold_argument(
    acc: &Accumulator,
    state: &mut AggState,
    argument: &BoundExpr,
    row: &[Value],
    times: isize,
) {
    match argument {
        BoundExpr::Call(call) if call.func == ScalarFunc::Struct && call.args.len() == 2 => {
            let (ordering, x) = (operand(&call.args[0], row), operand(&call.args[1], row));
            acc.update_pair(state, [&ordering, &x], times, || argument.eval(row))
        }
        _ => acc.update(state, &operand(argument, row), times),
    }
}

/// The value of `e` in `row`: a column's borrowed, anything else evaluated.
fn operand<'r>(e: &BoundExpr, row: &'r [Value]) -> Cow<'r, Value> {
    match e {
        BoundExpr::Column(i) => row.get(*i).map_or(Cow::Owned(Value::Null), Cow::Borrowed),
        e => Cow::Owned(e.eval(row)),
    }
}

impl Aggregation for RowAggregation {
    type Input = Row;
    type State = States;
    type Output = Row;

    fn init(&self) -> States {
        self.accumulators.iter().map(Accumulator::init).collect()
    }

    fn update(&self, state: &mut States, input: &Row, diff: isize) {
        self.fold(state, input, diff)
    }

    fn merge(&self, into: &mut States, other: States) {
        for ((acc, state), partial) in self.accumulators.iter().zip(into.iter_mut()).zip(other) {
            acc.merge_checked(state, partial);
        }
    }

    fn output(&self, state: &States) -> Option<Row> {
        Some(self.results(state))
    }
}

/// The name of the stage that brings an append-only aggregation's output to worker 0. Each
/// worker emits its changes of an epoch sorted, and they go to worker 0 anyway, where the sink
/// writes the epoch sorted: merging the workers' sorted runs there is much cheaper than the
/// sink's sort of the whole epoch, which then finds them in order.
pub(super) const GATHER: &str = "Aggregate: gather sorted";

/// An aggregation's `results` as output rows, by `f`: gathered to worker 0 as sorted runs
/// ([`GATHER`]), or, when not `gathered`, left on the worker that computed them, for a sink
/// that takes each worker's rows where they are (see `Compiled::output_where_computed`).
pub(super) fn output_rows<'s, D, D2>(
    results: VecCollection<'s, u64, D, isize>,
    gathered: bool,
    mut f: impl FnMut(D) -> D2 + 'static,
) -> VecCollection<'s, u64, D2, isize>
where
    D: differential_dataflow::ExchangeData,
    D2: differential_dataflow::Data,
{
    if gathered {
        return gather_sorted_map(results, GATHER, f);
    }
    // Each container mapped into one of its exact size and handed over whole: a `map` would
    // push the rows one by one into containers of its own.
    results
        .inner
        .unary::<CapacityContainerBuilder<Vec<_>>, _, _, _>(SameWorker, "Aggregate: output", |_, _| {
            move |input, output| {
                input.for_each_stamp(|cap, containers| {
                    for container in containers {
                        let mut mapped: Vec<_> = container
                            .drain(..)
                            .map(|(data, time, diff)| (f(data), time, diff))
                            .collect();
                        output.session(&cap).give_container(&mut mapped);
                    }
                });
            }
        })
        .as_collection()
}

/// As [`RowFold::aggregate`], for an aggregation grouped by a window of a watermarked column:
/// a key's state is forgotten once the watermark passes the end of its window (key
/// `window_key`), so the state stays bounded (see
/// [`aggregate_append_only_expiring`](tidewater_operators::aggregate_append_only_expiring)).
pub(crate) fn aggregate_expiring<'s>(
    rows: Rows<'s>,
    pipeline: Pipeline,
    keys: Vec<BoundExpr>,
    accumulators: Vec<Accumulator>,
    expiring: Expiring<'s>,
    durable: Option<Durable<'s, u64, Row, States>>,
) -> (Rows<'s>, tidewater_operators::aggregate::Dropped<'s>, Figures<'s>) {
    let fold = RowFold::new(pipeline, keys, accumulators);
    let aggregation = fold.aggregation.clone();
    let window_key = expiring.window_key;
    let closes_at = move |key: &KeyRow| key.get(window_key).and_then(Value::window_end);
    let gathered = expiring.gathered;
    let (expiry, name) = expiry_of(expiring, Box::new(closes_at));
    let fold = move |row, diff, states: &mut PartialStates<KeyRow, States>| {
        fold.pipeline.run(row, &mut |r| fold.fold(r, diff, states))
    };
    let durable = durable.map(RowFold::durable_keys);
    let (results, dropped, figures) = expire(rows, name, aggregation, expiry, fold, durable);
    let rows = output_rows(results, gathered, |(key, values): (KeyRow, Row)| {
        key.into_row().concat(&values)
    });
    (rows, dropped, figures)
}

/// The expiring aggregation of `rows` by `fold` (see
/// [`aggregate_append_only_expiring`](tidewater_operators::aggregate_append_only_expiring)),
/// durable when `durable` is given.
pub(super) fn expire<'s, K, A, F>(
    rows: Rows<'s>,
    name: &str,
    aggregation: A,
    expiry: tidewater_operators::Expiry<'s, K>,
    fold: F,
    durable: Option<Durable<'s, u64, K, A::State>>,
) -> tidewater_operators::aggregate::Expired<'s, K, A::Output>
where
    K: differential_dataflow::ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(Row, isize, &mut PartialStates<K, A::State>) + 'static,
{
    match durable {
        Some(durable) => tidewater_operators::aggregate_append_only_expiring_durable(
            rows,
            name,
            aggregation,
            expiry,
            fold,
            durable,
        ),
        None => tidewater_operators::aggregate_append_only_expiring(rows, name, aggregation, expiry, fold),
    }
}

/// The expiry of a windowed aggregation whose keys close at `closes_at`, and the
/// aggregation's name, which says how it emits.
pub(super) fn expiry_of<'s, K>(
    expiring: Expiring<'s>,
    closes_at: tidewater_operators::aggregate::ClosesAt<K>,
) -> (tidewater_operators::Expiry<'s, K>, &'static str) {
    let name = match expiring.emit {
        tidewater_operators::Emit::Changes | tidewater_operators::Emit::Insertions => {
            "Aggregate (windows forgotten behind the watermark)"
        }
        tidewater_operators::Emit::Closed => "Aggregate (windows written once the watermark closes them)",
    };
    let expiry = tidewater_operators::Expiry {
        maxima: expiring.maxima,
        delay: expiring.delay,
        closes_at,
        seen: expiring.seen,
        emit: expiring.emit,
    };
    (expiry, name)
}

/// An aggregation by session windows (key `window_key` is `session_window(..)`): each row's
/// keys and aggregate arguments are evaluated where it is, its own session taken from the
/// window key, and [`tidewater_operators::sessions`] merges the sessions of each key. Output
/// rows are the keys, the session in its place among them, then the aggregate values.
pub(crate) fn aggregate_sessions<'s>(
    rows: Rows<'s>,
    pipeline: Pipeline,
    keys: Vec<BoundExpr>,
    accumulators: Vec<Accumulator>,
    window_key: usize,
    watermark: Option<tidewater_operators::SessionWatermark<'s>>,
    durable: Option<tidewater_operators::SessionLog<'s, Row, States>>,
) -> (Rows<'s>, tidewater_operators::aggregate::Dropped<'s>) {
    let aggregation = RowAggregation {
        accumulators: accumulators.clone().into(),
    };
    let records = rows.flat_map(move |row| {
        let mut records = Vec::new();
        pipeline.run(row, &mut |r| {
            let mut session = None;
            let mut others = Row::with_capacity(keys.len().saturating_sub(1));
            for (i, key) in keys.iter().enumerate() {
                let value = key.eval(&r);
                if i == window_key {
                    session = match &value {
                        Value::Struct(fields) => match (fields.first(), fields.get(1)) {
                            (Some(Value::Timestamp(start)), Some(Value::Timestamp(end))) => {
                                Some((*start, *end))
                            }
                            _ => None,
                        },
                        _ => None,
                    };
                } else {
                    others.push(value);
                }
            }
            // A row without a time, or with a gap that is no positive interval, is in no session.
            let Some(session) = session else {
                return;
            };
            let arguments: Row = accumulators
                .iter()
                .map(|a| a.argument().map_or(Value::Null, |e| e.eval(&r)))
                .collect();
            records.push((others, (session, arguments)));
        });
        records
    });
    let (results, dropped) = tidewater_operators::sessions(records, aggregation, watermark, durable);
    let rows = results.map(move |((others, (start, end)), values)| {
        let mut row = Row::with_capacity(others.len() + 1 + values.len());
        for (i, value) in others.iter().enumerate() {
            if i == window_key {
                row.push(Value::window(start, end));
            }
            row.push(value.clone());
        }
        if window_key >= others.len() {
            row.push(Value::window(start, end));
        }
        row.concat(&values)
    });
    (rows, dropped)
}

/// How a windowed aggregation forgets its closed windows.
pub(crate) struct Expiring<'s> {
    /// Every worker's greatest event time per epoch.
    pub(crate) maxima: differential_dataflow::collection::VecCollection<'s, u64, i64, isize>,
    /// The watermark's delay, microseconds.
    pub(crate) delay: i64,
    /// The key column holding the window.
    pub(crate) window_key: usize,
    /// Greatest event times of epochs before this run (a restart).
    pub(crate) seen: Vec<(i64, u64)>,
    /// Every change of a window's result, or only its final result once the watermark
    /// closes it (append mode).
    pub(crate) emit: tidewater_operators::Emit,
    /// Whether the output goes to worker 0 (see [`output_rows`]).
    pub(crate) gathered: bool,
}

/// The aggregation of an input that can retract: key and argument rows for differential's
/// general `reduce`. Output rows are the keys followed by the aggregate values.
pub(super) fn retractable<'s>(
    rows: Rows<'s>,
    pipeline: Pipeline,
    keys: Vec<BoundExpr>,
    accumulators: Vec<Accumulator>,
) -> Rows<'s> {
    let aggregation = RowAggregation {
        accumulators: accumulators.into(),
    };
    let arguments: Vec<Option<BoundExpr>> = aggregation
        .accumulators
        .iter()
        .map(|a| a.argument().cloned())
        .collect();
    let row_is_key = keys_are_the_row(&keys);
    let split = move |row: Row| -> (Row, Row) {
        let args: Row = arguments
            .iter()
            .map(|a| a.as_ref().map_or(Value::Null, |e| e.eval(&row)))
            .collect();
        let key = if row_is_key && row.len() == keys.len() {
            row
        } else {
            keys.iter().map(|k| k.eval(&row)).collect()
        };
        (key, args)
    };
    let keyed = if pipeline.is_empty() {
        rows.map(split)
    } else {
        rows.flat_map(move |row| {
            let mut out = Vec::new();
            pipeline.run(row, &mut |r| out.push(split(r)));
            out
        })
    };
    general_reduce(keyed, aggregation).map(|(key, values)| key.concat(&values))
}

/// True when the keys are exactly the row's columns in order (`GROUP BY` every selected
/// column): the row itself is then the key, moved, not rebuilt.
fn keys_are_the_row(keys: &[BoundExpr]) -> bool {
    keys.iter()
        .enumerate()
        .all(|(i, k)| matches!(k, BoundExpr::Column(c) if *c == i))
}

/// The fold of an append-only input in general: each row out of the pipeline goes straight
/// into its key's state. The aggregates' arguments are evaluated over the row (a column is
/// borrowed) rather than collected into an argument row, and a key that is one expression is
/// looked up as a borrowed slice, so a key row is only built for a key new in the epoch.
pub(super) struct RowFold {
    pub(super) pipeline: Pipeline,
    keys: Vec<BoundExpr>,
    pub(super) aggregation: RowAggregation,
    row_is_key: bool,
}

impl RowFold {
    pub(super) fn new(pipeline: Pipeline, keys: Vec<BoundExpr>, accumulators: Vec<Accumulator>) -> Self {
        RowFold {
            pipeline,
            row_is_key: keys_are_the_row(&keys),
            keys,
            aggregation: RowAggregation {
                accumulators: accumulators.into(),
            },
        }
    }

    /// Aggregates `rows`, which only insert, through the pipeline and into one state per key;
    /// output rows are the keys followed by the aggregate values, emitted as `changes` (see
    /// [`Changes`]) and `gathered` or not (see [`output_rows`]), with the figures of the keys
    /// held.
    pub(super) fn aggregate<'s>(
        self,
        rows: Rows<'s>,
        durable: Option<Durable<'s, u64, Row, States>>,
        (changes, gathered): (Changes, bool),
    ) -> (Rows<'s>, Figures<'s>) {
        let aggregation = self.aggregation.clone();
        let fold = move |row, diff, states: &mut PartialStates<KeyRow, States>| {
            self.pipeline.run(row, &mut |r| self.fold(r, diff, states))
        };
        let durable = durable.map(RowFold::durable_keys);
        let (results, figures) =
            aggregate_append_only_counted(rows, "Aggregate", aggregation, fold, durable, changes, None);
        let rows = output_rows(results, gathered, |(key, values): (KeyRow, Row)| {
            key.into_row().concat(&values)
        });
        (rows, figures)
    }

    /// The durable wiring of a fold, whose checkpoint stores keys as rows, for its map of
    /// [`KeyRow`]s.
    pub(super) fn durable_keys<'s>(
        durable: Durable<'s, u64, Row, States>,
    ) -> Durable<'s, u64, KeyRow, States> {
        durable.map_keys(KeyRow::to_row, KeyRow::from)
    }

    /// Folds one row out of the pipeline into its key's state.
    pub(super) fn fold(&self, row: Row, diff: isize, states: &mut PartialStates<KeyRow, States>) {
        if self.row_is_key && row.len() == self.keys.len() {
            return self.fold_as_key(row, diff, states);
        }
        // A key is looked up borrowed and hashed once; it is copied into the map only when
        // it is new.
        let mut evaluated = SmallVec::new();
        let key = key_values(&self.keys, &row, &mut evaluated);
        let state = match states.entry_ref(key) {
            EntryRef::Occupied(entry) => entry.into_mut(),
            EntryRef::Vacant(entry) => entry.insert_with_key(KeyRow::from(key), self.aggregation.init()),
        };
        self.aggregation.fold_row(state, &row, diff);
    }

    /// Folds `row`, which is its own key, moving it into the map if the key is new.
    fn fold_as_key(&self, row: Row, diff: isize, states: &mut PartialStates<KeyRow, States>) {
        match states.get_mut(&row[..]) {
            Some(state) => self.aggregation.fold_row(state, &row, diff),
            None => {
                let state = self.new_state(&row, diff);
                states.insert(KeyRow::from(row), state);
            }
        }
    }

    /// The state of a key whose first row is `row`.
    fn new_state(&self, row: &[Value], diff: isize) -> States {
        let mut state = self.aggregation.init();
        self.aggregation.fold_row(&mut state, row, diff);
        state
    }
}

/// The values of `keys` over `row`, to look a key up borrowed: a key of one column is a slice
/// of the row itself, any other is evaluated into `scratch`, on the stack.
pub(super) fn key_values<'a>(
    keys: &[BoundExpr],
    row: &'a [Value],
    scratch: &'a mut SmallVec<[Value; 4]>,
) -> &'a [Value] {
    match keys {
        [BoundExpr::Column(i)] if *i < row.len() => std::slice::from_ref(&row[*i]),
        keys => {
            scratch.extend(keys.iter().map(|k| k.eval(row)));
            scratch
        }
    }
}

/// The word count's shape over an append-only input: `explode(split(..))` grouped by the piece
/// alone, with only counts (`count(*)`, or `count` of the piece, which is never null). The
/// general path builds a row per piece, then a key row and an argument row, and hashes and
/// compares them through [`Value`]. This one looks each piece up by `&str` in a map of plain
/// counts and builds a key (inline for short pieces) only for a piece new in the epoch.
pub(crate) struct PieceCount {
    /// The `split(..)` whose pieces are counted.
    split: BoundExpr,
    /// How many count columns follow the key in an output row (all equal).
    counts: usize,
}

impl PieceCount {
    /// The word count's shape, if the aggregation has it: `pipeline` is exactly
    /// `explode(split(..))`, the only key is the piece, and every aggregate is such a count.
    pub(super) fn detect(
        pipeline: &Pipeline,
        keys: &[BoundExpr],
        accumulators: &[Accumulator],
    ) -> Option<Self> {
        let split = pipeline.as_explode_split()?;
        let piece_is_key = matches!(keys, [BoundExpr::Column(0)]);
        let all_counts = accumulators.iter().all(|a| {
            a.init() == AggState::Count(0) && matches!(a.argument(), None | Some(BoundExpr::Column(0)))
        });
        (piece_is_key && all_counts).then(|| PieceCount {
            split: split.clone(),
            counts: accumulators.len(),
        })
    }

    /// Counts the pieces of `rows` per piece; output rows are the piece followed by its count,
    /// once per count aggregate, emitted as `changes` (see [`Changes`]), with the figures of
    /// the pieces held.
    pub(super) fn aggregate<'s>(
        self,
        rows: Rows<'s>,
        durable: Option<Durable<'s, u64, Piece, i64>>,
        (changes, gathered): (Changes, bool),
    ) -> (Rows<'s>, Figures<'s>) {
        let counts = self.counts;
        let fold =
            move |row: Row, diff, states: &mut PartialStates<Piece, i64>| self.fold(&row, diff, states);
        let (results, figures) = aggregate_append_only_counted(
            rows,
            "Aggregate",
            Count::<()>::new(),
            fold,
            durable,
            changes,
            Some(Piece::prefix as KeyPrefix<Piece>),
        );
        let rows = output_rows(results, gathered, move |(piece, count): (Piece, i64)| {
            let mut row = Row::with_capacity(1 + counts);
            row.push(Value::Str(piece.text));
            (0..counts).for_each(|_| row.push(Value::Int(count)));
            row
        });
        (rows, figures)
    }

    /// Adds `diff` to the count of each piece of `row`'s split.
    fn fold(&self, row: &Row, diff: isize, states: &mut PartialStates<Piece, i64>) {
        self.split
            .for_each_split_piece(row, |piece| match states.entry_ref(piece) {
                EntryRef::Occupied(count) => *count.into_mut() += diff as i64,
                EntryRef::Vacant(entry) => {
                    entry.insert_with_key(Piece::new(piece), diff as i64);
                }
            })
    }
}

/// A counted piece of text, ordered as its text but cheaply: by its first eight bytes read as a
/// big-endian number (zero-padded), and by the whole text only when those are equal. Every
/// worker sorts the pieces it counted in an epoch (see [`GATHER`]), and most words are told
/// apart by the prefix alone. It hashes and compares equal as its text does, so the map of
/// counts is probed with a `&str`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Piece {
    prefix: u64,
    text: SmolStr,
}

impl Piece {
    fn new(text: &str) -> Self {
        Piece {
            prefix: text_prefix(text),
            text: SmolStr::new(text),
        }
    }

    /// The number that orders pieces first.
    fn prefix(&self) -> u64 {
        self.prefix
    }
}

/// Two pieces whose prefixes differ differ; two of at most eight bytes with equal prefixes
/// and lengths are equal (the prefix holds their every byte), without a `memcmp` call.
impl PartialEq for Piece {
    fn eq(&self, other: &Self) -> bool {
        let len = self.text.len();
        self.prefix == other.prefix
            && len == other.text.len()
            && (len <= PREFIX_BYTES || self.text == other.text)
    }
}

/// The bytes of a piece its prefix holds.
const PREFIX_BYTES: usize = 8;

impl Eq for Piece {}

/// Agrees with the order of the texts: where the prefixes differ, the first differing byte
/// (or the end of the shorter text, read as 0 against a byte that is at least 0) decides both.
impl Ord for Piece {
    fn cmp(&self, other: &Self) -> Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.text.cmp(&other.text))
    }
}

impl PartialOrd for Piece {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Piece {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.as_str().hash(state)
    }
}

impl Borrow<str> for Piece {
    fn borrow(&self) -> &str {
        &self.text
    }
}

/// Differential's general `reduce`: recomputes a key's aggregates from its whole (current)
/// input whenever it changes, so it is correct for inputs with retractions.
fn general_reduce<'s>(
    keyed: differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize>,
    aggregation: RowAggregation,
) -> differential_dataflow::collection::VecCollection<'s, u64, (Row, Row), isize> {
    keyed.reduce_named("Aggregate (general)", move |_key, inputs, output| {
        let mut states = aggregation.init();
        for (args, times) in inputs {
            aggregation.fold(&mut states, args, *times);
        }
        output.push((aggregation.results(&states), 1));
    })
}

#[cfg(test)]
mod tests {
    //! The per-key accumulator must agree with differential's general `reduce`, update for
    //! update, on random insert-only inputs.

    use std::sync::{Arc, Mutex};

    use differential_dataflow::consolidation::consolidate_updates;
    use differential_dataflow::input::Input;

    use super::*;
    use crate::data::{DataType, Field, Schema};
    use crate::expr::{col, AggFunc, Expr};

    type Update = (Row, u64, isize);

    fn schema() -> Schema {
        Schema::new([Field::new("k", DataType::Int64), Field::new("v", DataType::Int64)])
    }

    fn accumulators() -> Vec<Accumulator> {
        let v = col("v");
        let calls: [(AggFunc, Option<&Expr>); 6] = [
            (AggFunc::Count, None),
            (AggFunc::Count, Some(&v)),
            (AggFunc::Sum, Some(&v)),
            (AggFunc::Avg, Some(&v)),
            (AggFunc::Min, Some(&v)),
            (AggFunc::Max, Some(&v)),
        ];
        calls
            .iter()
            .map(|(f, arg)| Accumulator::bind(*f, *arg, &schema()).expect("binds").0)
            .collect()
    }

    /// Random epochs of `(k, v)` rows: few keys (so keys recur), some null values, repeats.
    fn random_epochs(seed: u64) -> Vec<Vec<Row>> {
        let mut state = seed;
        let mut next = move |n: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % n
        };
        (0..1 + next(5))
            .map(|_| {
                (0..next(12))
                    .map(|_| {
                        let key = Value::Int(next(4) as i64);
                        let value = if next(5) == 0 {
                            Value::Null
                        } else {
                            Value::Int(next(41) as i64 - 20)
                        };
                        Row::from(vec![key, value])
                    })
                    .collect()
            })
            .collect()
    }

    fn run(workers: usize, epochs: Vec<Vec<Row>>, keys: &[BoundExpr], append_only: bool) -> Vec<Update> {
        let keys = keys.to_vec();
        let captured: Arc<Mutex<Vec<Update>>> = Arc::default();
        let sink = captured.clone();
        let config = timely::Config::process(workers);
        let guards = timely::execute(config, move |worker| {
            let sink = sink.clone();
            let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, rows) = scope.new_collection::<Row, isize>();
                let aggregated = if append_only {
                    RowFold::new(Pipeline::default(), keys.clone(), accumulators())
                        .aggregate(rows, None, (Changes::Both, true))
                        .0
                } else {
                    retractable(rows, Pipeline::default(), keys.clone(), accumulators())
                };
                let (probe, _) = aggregated
                    .inspect(move |update| sink.lock().expect("lock").push(update.clone()))
                    .probe();
                (input, probe)
            });
            for (epoch, rows) in epochs.iter().enumerate() {
                if worker.index() == 0 {
                    rows.iter().cloned().for_each(|r| input.insert(r));
                }
                input.advance_to(epoch as u64 + 1);
                input.flush();
                worker.step_while(|| probe.less_than(input.time()));
            }
        })
        .expect("workers start");
        guards.join().into_iter().for_each(|r| r.expect("worker ok"));
        let mut updates = captured.lock().expect("lock").clone();
        consolidate_updates(&mut updates);
        updates
    }

    #[test]
    fn pieces_order_and_compare_as_their_texts() {
        let texts = [
            "",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefghi",
            "abcdefgz",
            "b",
            "w1",
            "w10",
            "w2",
            "Ünïcödé",
            "ü",
            "zzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
            "\0",
            "ab\0\0",
            "abcdefghj",
            "éé\0",
            "\u{1f600}abcdef",
        ];
        // Equal exactly when the texts are: short pieces are told apart by prefix and length
        // alone, and a text followed by NUL bytes (which pad the prefix the same) is another.
        for a in texts {
            for b in texts {
                assert_eq!(Piece::new(a).cmp(&Piece::new(b)), a.cmp(b), "{a:?} against {b:?}");
                assert_eq!(Piece::new(a) == Piece::new(b), a == b, "{a:?} == {b:?}");
            }
        }
    }

    #[test]
    fn accumulator_matches_general_reduce_on_random_inputs() {
        for seed in 0..40 {
            let epochs = random_epochs(seed);
            // One key column; the row as its own key; several keys in another order.
            let key_sets = [
                vec![BoundExpr::Column(0)],
                vec![BoundExpr::Column(0), BoundExpr::Column(1)],
                vec![BoundExpr::Column(1), BoundExpr::Column(0)],
            ];
            for keys in &key_sets {
                let general = run(1, epochs.clone(), keys, false);
                assert_eq!(
                    run(1, epochs.clone(), keys, true),
                    general,
                    "seed {seed}, {keys:?}, 1 worker"
                );
                assert_eq!(
                    run(2, epochs.clone(), keys, true),
                    general,
                    "seed {seed}, {keys:?}, 2 workers"
                );
                assert_eq!(
                    run(2, epochs.clone(), keys, false),
                    general,
                    "seed {seed}, {keys:?}, general, 2 workers"
                );
            }
        }
    }
}
