//! The append-only aggregate: one accumulator per key, folded before the exchange (see the
//! [module documentation](super)).

use std::hash::Hash;

use differential_dataflow::{AsCollection, Data, ExchangeData, VecCollection};
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::Concat;
use timely::dataflow::Stream;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use super::stages::{fold_locally_sorted, merge_by_key, KeyPrefix, Logged, Partial};
use super::StateLog;
use super::{Aggregation, Changes, KeyFigures, PartialStates};

/// Aggregates an insert-only collection of `(key, value)` pairs per key, keeping one accumulator
/// per key (see the [module documentation](super)).
pub trait AggregateAppendOnly<'scope, T: Timestamp, K, V> {
    /// Folds the values of each key with `agg`.
    ///
    /// The result is a collection that, at every time, holds `(key, agg.output(state))` for every
    /// key with some value up to that time, where `state` is the fold of all those values (keys
    /// whose output is `None` are absent). When a key's output changes at a time, the old pair is
    /// retracted and the new one inserted at that time; a key whose output stays the same, and a
    /// time with no changes, produce no updates. Each update appears once, already consolidated,
    /// and each worker emits a time's updates sorted by `(key, output)`.
    ///
    /// The input must be insert-only: every diff must be positive (checked in debug builds).
    /// `name` names the two operators in logs and in the dataflow graph.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use differential_dataflow::input::Input;
    /// use tidewater_operators::{AggregateAppendOnly, Sum};
    ///
    /// let changes = Arc::new(Mutex::new(Vec::new()));
    /// let sink = changes.clone();
    /// timely::execute_directly(move |worker| {
    ///     let (mut sales, probe) = worker.dataflow::<u64, _, _>(|scope| {
    ///         let (input, sales) = scope.new_collection::<(String, i64), isize>();
    ///         let (probe, _) = sales
    ///             .aggregate_append_only("SalesPerFruit", Sum)
    ///             .inspect(move |update| sink.lock().unwrap().push(update.clone()))
    ///             .probe();
    ///         (input, probe)
    ///     });
    ///     // epoch 0
    ///     sales.insert(("apple".to_string(), 3));
    ///     sales.insert(("pear".to_string(), 1));
    ///     sales.advance_to(1);
    ///     sales.flush();
    ///     worker.step_while(|| probe.less_than(sales.time()));
    ///     // epoch 1: only the apple total changes
    ///     sales.insert(("apple".to_string(), 4));
    ///     sales.advance_to(2);
    ///     sales.flush();
    ///     worker.step_while(|| probe.less_than(sales.time()));
    /// });
    ///
    /// let mut changes = changes.lock().unwrap().clone();
    /// changes.sort_by_key(|(data, time, _diff)| (*time, data.clone()));
    /// assert_eq!(changes, vec![
    ///     (("apple".to_string(), 3), 0, 1),
    ///     (("pear".to_string(), 1), 0, 1),
    ///     (("apple".to_string(), 3), 1, -1),
    ///     (("apple".to_string(), 7), 1, 1),
    /// ]);
    /// ```
    fn aggregate_append_only<A>(self, name: &str, agg: A) -> VecCollection<'scope, T, (K, A::Output), isize>
    where
        A: Aggregation<Input = V>;
}

/// The timestamp's `Ord` must agree with its total order (as it does for integers), since the
/// pending times are kept and completed in `Ord` order.
impl<'scope, T, K, V> AggregateAppendOnly<'scope, T, K, V> for VecCollection<'scope, T, (K, V), isize>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    V: Data,
{
    fn aggregate_append_only<A>(self, name: &str, agg: A) -> VecCollection<'scope, T, (K, A::Output), isize>
    where
        A: Aggregation<Input = V>,
    {
        // Each record is already one `(key, value)` pair.
        aggregate_append_only_flat(self, name, agg, |(k, v), emit| emit(k, v))
    }
}

/// As [`AggregateAppendOnly::aggregate_append_only`], for a collection of records that each
/// explode into any number of `(key, value)` pairs: `explode(record, emit)` calls `emit` once
/// per pair. The pairs are folded straight into the worker's partial states, so no
/// intermediate collection of pairs is built (the fusion of a `flat_map` into the fold).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{aggregate_append_only_flat, Count};
///
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let sink = changes.clone();
/// timely::execute_directly(move |worker| {
///     let (mut lines, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, lines) = scope.new_collection::<String, isize>();
///         let counts = aggregate_append_only_flat(lines, "WordCount", Count::<()>::new(), |line: String, emit| {
///             line.split(' ').for_each(|w| emit(w.to_string(), ()))
///         });
///         let (probe, _) = counts.inspect(move |u| sink.lock().unwrap().push(u.clone())).probe();
///         (input, probe)
///     });
///     lines.insert("a b a".to_string());
///     lines.advance_to(1);
///     lines.flush();
///     worker.step_while(|| probe.less_than(lines.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort();
/// assert_eq!(changes, vec![(("a".to_string(), 2), 0, 1), (("b".to_string(), 1), 0, 1)]);
/// ```
pub fn aggregate_append_only_flat<'scope, T, D, K, V, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    name: &str,
    agg: A,
    mut explode: F,
) -> VecCollection<'scope, T, (K, A::Output), isize>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    V: Data,
    A: Aggregation<Input = V>,
    F: FnMut(D, &mut dyn FnMut(K, V)) + 'static,
{
    let folder = agg.clone();
    aggregate_append_only_into(records, name, agg, move |record, diff, states| {
        explode(record, &mut |key, value| {
            let state = states.entry(key).or_insert_with(|| folder.init());
            folder.update(state, &value, diff);
        })
    })
}

/// As [`aggregate_append_only_flat`], with the fold of a record into the worker's partial
/// states left to the caller: `fold(record, diff, states)` must update `states` as if each of
/// the record's `(key, value)` pairs had been folded in with [`Aggregation::update`] (and new
/// keys started from [`Aggregation::init`]).
///
/// This lets a caller look keys up by a borrowed form (a `&str` for `String` keys) and build an
/// owned key only for a key not yet in the map, which matters when records explode into many
/// short-lived pairs.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{aggregate_append_only_into, Count};
///
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let sink = changes.clone();
/// timely::execute_directly(move |worker| {
///     let (mut lines, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, lines) = scope.new_collection::<String, isize>();
///         let counts = aggregate_append_only_into(lines, "WordCount", Count::<()>::new(), |line: String, diff, states| {
///             for word in line.split(' ') {
///                 match states.get_mut(word) {
///                     Some(count) => *count += diff as i64,
///                     None => {
///                         states.insert(word.to_string(), diff as i64);
///                     }
///                 }
///             }
///         });
///         let (probe, _) = counts.inspect(move |u| sink.lock().unwrap().push(u.clone())).probe();
///         (input, probe)
///     });
///     lines.insert("a b a".to_string());
///     lines.advance_to(1);
///     lines.flush();
///     worker.step_while(|| probe.less_than(lines.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort();
/// assert_eq!(changes, vec![(("a".to_string(), 2), 0, 1), (("b".to_string(), 1), 0, 1)]);
/// ```
pub fn aggregate_append_only_into<'scope, T, D, K, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    name: &str,
    agg: A,
    fold: F,
) -> VecCollection<'scope, T, (K, A::Output), isize>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    aggregate_append_only_counted(records, name, agg, fold, None, Changes::Both, None).0
}

/// What an aggregation that counts its own keys gives: its output, and each worker's
/// [`KeyFigures`] per time (summed over workers and times, `added - removed` is the keys
/// held).
pub type Counted<'scope, T, K, O> = (
    VecCollection<'scope, T, (K, O), isize>,
    VecCollection<'scope, T, KeyFigures, isize>,
);

/// As [`aggregate_append_only_into`], or [`aggregate_append_only_durable`] when `durable` is
/// given, emitting `changes` of each changed key (see [`Changes`]), with the figures of the
/// keys it holds: a sink in update mode needs only the insertions, and the figures still give
/// Spark's `numRowsTotal` and `numRowsUpdated` without the retractions. Each worker sorts
/// its partials by key, by a radix sort of their `prefix` where one is given.
pub fn aggregate_append_only_counted<'scope, T, D, K, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    name: &str,
    agg: A,
    fold: F,
    durable: Option<Durable<'scope, T, K, A::State>>,
    changes: Changes,
    prefix: Option<KeyPrefix<K>>,
) -> Counted<'scope, T, K, A::Output>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    let partials =
        fold_locally_sorted::<_, _, _, A, _>(records.inner, &format!("{name}: fold locally"), fold, prefix);
    let (partials, logged) = Durable::wire(durable, partials);
    let (updates, figures) = merge_by_key(partials, name, agg, logged, changes);
    (updates.as_collection(), figures.as_collection())
}

/// A stream of partial states `(key, time, state)`.
pub type PartialStream<'scope, T, K, S> = Stream<'scope, T, Vec<Partial<K, T, S>>>;

/// A merge stage's input with the restored totals joined, and its log (see [`Durable::wire`]).
pub(crate) type Wired<'scope, T, K, S> = (PartialStream<'scope, T, K, S>, Option<Logged<T, K, S>>);

/// What makes an append-only aggregation durable: its state restored when it starts, and its
/// changes logged as it runs.
pub struct Durable<'scope, T: Timestamp, K, S> {
    /// Totals restored from a checkpoint, `(key, time, total)`: they enter as partial states
    /// at a time before any new record (so their outputs at that time are the restored
    /// result, not changes), each key once over all workers.
    pub restored: Option<PartialStream<'scope, T, K, S>>,
    /// Receives each merged time's changed keys and their new totals.
    pub log: StateLog<T, K, S>,
    /// The first time of new records: earlier times hold the restored totals, which are not
    /// logged again.
    pub first_new: T,
    /// Whether the restored totals are merged without output, when what follows needs only
    /// changes (update mode) and not the restored result itself.
    pub quiet_restore: bool,
}

impl<'scope, T: Timestamp, K: 'static, S: 'static> Durable<'scope, T, K, S> {
    /// Wires `durable`, if given, into a merge stage whose input is `partials`: the restored
    /// totals join the partials, and the log and its times become the merge's [`Logged`].
    pub(crate) fn wire(
        durable: Option<Self>,
        partials: PartialStream<'scope, T, K, S>,
    ) -> Wired<'scope, T, K, S> {
        let Some(durable) = durable else {
            return (partials, None);
        };
        let partials = match durable.restored {
            Some(restored) => partials.concat(restored),
            None => partials,
        };
        let logged = Logged {
            log: durable.log,
            first_new: durable.first_new,
            quiet_restore: durable.quiet_restore,
        };
        (partials, Some(logged))
    }

    /// The same durable wiring for an aggregation keyed by `K2`, whose keys are stored as `K`:
    /// `stored` turns a key into its stored form for the log, `restored` turns a stored key
    /// back. One stored form lets a checkpoint read state without knowing the key type that an
    /// aggregation's fast path chose.
    pub fn map_keys<K2: 'static>(
        self,
        stored: impl Fn(&K2) -> K + 'static,
        restored: impl Fn(K) -> K2 + 'static,
    ) -> Durable<'scope, T, K2, S> {
        let mut log = self.log;
        Durable {
            restored: self
                .restored
                .map(|partials| partials.map(move |(key, time, state)| (restored(key), time, state))),
            log: Box::new(move |time: &T, entries: Vec<(K2, S)>| {
                log(
                    time,
                    entries
                        .into_iter()
                        .map(|(key, state)| (stored(&key), state))
                        .collect(),
                )
            }),
            first_new: self.first_new,
            quiet_restore: self.quiet_restore,
        }
    }
}

/// As [`aggregate_append_only_into`], durable: the keys' totals start from `durable.restored`,
/// and every time's changed totals go to `durable.log` before the time's output is released.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use timely::dataflow::operators::{Capability, ToStream};
/// use tidewater_operators::{aggregate_append_only_durable, Count, Durable};
///
/// let logged = Arc::new(Mutex::new(Vec::new()));
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let (log, sink) = (logged.clone(), changes.clone());
/// timely::execute_directly(move |worker| {
///     let (mut lines, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, lines) = scope.new_collection::<String, isize>();
///         // "a" counted 5 before a restart, restored at time 0; new records come at time 1.
///         let restored = vec![("a".to_string(), 0u64, 5i64)].to_stream(scope);
///         let durable = Durable {
///             restored: Some(restored),
///             log: Box::new(move |time: &u64, entries: Vec<(String, i64)>| {
///                 log.lock().unwrap().push((*time, entries))
///             }),
///             first_new: 0,
///             quiet_restore: false,
///         };
///         let counts = aggregate_append_only_durable(lines, "WordCount", Count::<()>::new(), |line: String, diff, states| {
///             *states.entry(line).or_insert(0) += diff as i64;
///         }, durable);
///         let (probe, _) = counts.inspect(move |u| sink.lock().unwrap().push(u.clone())).probe();
///         (input, probe)
///     });
///     lines.advance_to(1);
///     lines.insert("a".to_string());
///     lines.advance_to(2);
///     lines.flush();
///     worker.step_while(|| probe.less_than(lines.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort();
/// // Time 0 publishes the restored count; time 1 moves it from 5 to 6.
/// assert_eq!(changes, vec![(("a".to_string(), 5), 0, 1), (("a".to_string(), 5), 1, -1), (("a".to_string(), 6), 1, 1)]);
/// let logged = logged.lock().unwrap().clone();
/// assert_eq!(logged, vec![(0, vec![("a".to_string(), 5)]), (1, vec![("a".to_string(), 6)])]);
/// ```
pub fn aggregate_append_only_durable<'scope, T, D, K, A, F>(
    records: VecCollection<'scope, T, D, isize>,
    name: &str,
    agg: A,
    fold: F,
    durable: Durable<'scope, T, K, A::State>,
) -> VecCollection<'scope, T, (K, A::Output), isize>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    aggregate_append_only_counted(records, name, agg, fold, Some(durable), Changes::Both, None).0
}
