//! Aggregation of insert-only collections, one accumulator per key.
//!
//! Differential's `reduce` and `count` keep their input arranged, every distinct value of every
//! key, because a later retraction may need any of them (and they arrange their output too): the
//! state of a key grows with the number of its distinct values. When the input only ever inserts
//! (every diff is positive), the fold of a key's values so far is all that the next output depends
//! on, so [`AggregateAppendOnly::aggregate_append_only`] keeps exactly that: one
//! [`Aggregation::State`] per key, whatever the number of values and epochs.
//!
//! It also combines before the exchange. The operator runs in two stages:
//!
//! 1. each worker folds its own records of a time into one partial state per key, without moving
//!    any data; when the input frontier passes the time, it sends the partials on;
//! 2. the partials are exchanged by the hash of the key, and the worker owning a key merges them
//!    into the key's total state, then emits the change of the key's output at that time.
//!
//! A key seen a million times in an epoch thus crosses the network once per worker, not a million
//! times.
//!
//! **Only correct for insert-only inputs.** An accumulator such as a maximum cannot take a value
//! back out, and a key whose values were all removed would still be published. Debug builds panic
//! on a diff `<= 0`; release builds pass it to [`Aggregation::update`] unchecked, and the output is
//! then meaningless. Use differential's `reduce` for inputs with retractions.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;

use differential_dataflow::{AsCollection, Data, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::dataflow::Stream;
use timely::order::TotalOrder;
use timely::progress::frontier::MutableAntichain;
use timely::progress::Timestamp;

/// An aggregation described by its accumulator, mergeable so that partial aggregates can be
/// combined.
///
/// The accumulator must form a commutative monoid under [`merge`](Aggregation::merge), with
/// [`init`](Aggregation::init) as its identity, and [`update`](Aggregation::update) must agree
/// with it: folding values into one state, or into several states that are merged afterwards,
/// gives the same state. Partial states of a key are built on every worker in no fixed order.
pub trait Aggregation: Clone + 'static {
    /// The value aggregated per key.
    type Input;
    /// The accumulator: partial on one worker, total on the key's owner. Shipped between workers.
    type State: timely::ExchangeData + Clone;
    /// The value published per key.
    type Output: Data;

    /// The state of a key with no values.
    fn init(&self) -> Self::State;
    /// Folds `input`, present `diff` times (`diff > 0`), into `state`.
    fn update(&self, state: &mut Self::State, input: &Self::Input, diff: isize);
    /// Folds the partial state `other` into `into`.
    fn merge(&self, into: &mut Self::State, other: Self::State);
    /// The value to publish for this key, or `None` to publish nothing (e.g. no rows).
    fn output(&self, state: &Self::State) -> Option<Self::Output>;
}

/// Aggregates an insert-only collection of `(key, value)` pairs per key, keeping one accumulator
/// per key (see the [module documentation](self)).
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

/// The partial states of one worker at one time, one per key, that the fold given to
/// [`aggregate_append_only_into`] updates.
///
/// Randomly seeded: the keys a worker owns share the low bits of the fixed-seed hash that routed
/// them there, which would cluster them in a map using that hash.
pub type PartialStates<K, S> = foldhash::HashMap<K, S>;

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
    let partials = fold_locally::<_, _, _, A, _>(records.inner, &format!("{name}: fold locally"), fold);
    merge_by_key(partials, name, agg).as_collection()
}

/// Per-worker hash map (see [`PartialStates`] for the seeding).
pub(crate) type Map<K, S> = PartialStates<K, S>;

/// Differential updates of `(key, value)` pairs: `((key, value), time, diff)`.
type Updates<K, V, T> = Vec<((K, V), T, isize)>;

/// A partial state of `key` at `time`, sent from stage 1 to stage 2.
pub(crate) type Partial<K, T, S> = (K, T, S);

/// Stage 1: folds each time's records into one partial state per key, on the worker that has
/// them, and sends the partials when the input frontier passes the time.
fn fold_locally<'scope, T, D, K, A, F>(
    updates: Stream<'scope, T, Vec<(D, T, isize)>>,
    name: &str,
    mut fold: F,
) -> Stream<'scope, T, Vec<Partial<K, T, A::State>>>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut Map<K, A::State>) + 'static,
{
    let operator = name.to_string();
    updates.unary_frontier::<CapacityContainerBuilder<_>, _, _, _>(Pipeline, name, move |_initial, _| {
        // `_initial` (a capability at the minimum time) is dropped at once: capabilities are
        // taken from the input, one per pending time, and released as soon as it is sent.
        let mut pending = Pending::<T, K, A::State>::default();
        move |(input, frontier), output| {
            let port = output.output_index();
            input.for_each_stamp(|cap, containers| {
                for container in containers {
                    for (record, time, diff) in container.drain(..) {
                        debug_assert!(diff > 0, "{operator}: diff {diff}, only insertions are supported");
                        fold(record, diff, pending.at(&cap, time, port));
                    }
                }
            });
            while let Some((cap, states)) = pending.pop_complete(frontier) {
                let time = cap.time();
                let partials = states.into_iter().map(|(key, state)| (key, time.clone(), state));
                output.session(&cap).give_iterator(partials);
            }
        }
    })
}

/// Stage 2: routes partials by key, merges each complete time into the keys' total states (in
/// time order), and emits the changes of the keys' outputs at that time.
pub(crate) fn merge_by_key<'scope, T, K, A>(
    partials: Stream<'scope, T, Vec<Partial<K, T, A::State>>>,
    name: &str,
    agg: A,
) -> Stream<'scope, T, Updates<K, A::Output, T>>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    // `hashed()` uses a fixed seed, so every process routes a key to the same worker.
    let by_key = Exchange::new(|(key, _time, _state): &Partial<K, T, A::State>| key.hashed());
    partials.unary_frontier::<CapacityContainerBuilder<Vec<_>>, _, _, _>(
        by_key,
        name,
        move |_initial, _info| {
            let mut pending = Pending::<T, K, A::State>::default();
            let mut totals = Map::<K, A::State>::default();
            move |(input, frontier), output| {
                let port = output.output_index();
                input.for_each_stamp(|cap, containers| {
                    for container in containers {
                        pending.merge_partials(&cap, container, port, &agg);
                    }
                });
                while let Some((cap, partials)) = pending.pop_complete(frontier) {
                    let time = cap.time().clone();
                    let mut session = output.session(&cap);
                    merge_time(&agg, &mut totals, partials, &time, &mut |update| {
                        session.give(update)
                    });
                }
            }
        },
    )
}

/// Merges one complete time's partial states into the keys' totals, and gives the changes of
/// the keys' outputs at that time, sorted by key.
fn merge_time<T, K, A>(
    agg: &A,
    totals: &mut Map<K, A::State>,
    partials: Map<K, A::State>,
    time: &T,
    give: &mut impl FnMut(((K, A::Output), T, isize)),
) where
    T: Timestamp,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    for (key, partial) in sorted_by_key(partials) {
        let (old, new) = match totals.get_mut(&key) {
            Some(total) => {
                let old = agg.output(total);
                agg.merge(total, partial);
                (old, agg.output(total))
            }
            None => {
                let new = agg.output(&partial);
                totals.insert(key.clone(), partial);
                (None, new)
            }
        };
        if old != new {
            for (data, diff) in change(key, old, new) {
                give((data, time.clone(), diff));
            }
        }
    }
}

/// The event time at which a key closes (e.g. its window's end), if it ever does.
pub type ClosesAt<K> = Box<dyn Fn(&K) -> Option<i64>>;

/// When the state of a key can be forgotten: once the event-time watermark has passed the
/// time `closes_at(key)` (a window's end), no record can change the key any more, provided late
/// records are dropped upstream (see [`drop_late`](crate::drop_late)). The watermark of epoch
/// `t` is the greatest of `maxima` before `t` (every worker's greatest event time per epoch),
/// less `delay`.
pub struct Expiry<'scope, K> {
    /// Each worker's greatest event time per epoch, e.g. the second output of `drop_late`.
    pub maxima: VecCollection<'scope, u64, i64, isize>,
    /// The watermark's delay.
    pub delay: i64,
    /// The event time at which a key closes, if it ever does.
    pub closes_at: ClosesAt<K>,
}

/// As [`aggregate_append_only_into`], forgetting each key's state once the watermark has
/// passed the time it closes at (see [`Expiry`]): state stays bounded over an endless stream
/// of windows. Forgetting emits nothing, so the output keeps the key's last value: the output
/// is for sinks that write final or changed rows (append and update), not for a consumer that
/// needs the whole current result.
///
/// # Examples
///
/// Key `'a'` closes at event time 10. Once the watermark passes 10 its count is forgotten, so a
/// (late, and in real use dropped upstream) record for it starts a new count:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{aggregate_append_only_expiring, Count, Expiry};
///
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let sink = changes.clone();
/// timely::execute_directly(move |worker| {
///     let (mut keys, mut maxima, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (keys_in, keys) = scope.new_collection::<char, isize>();
///         let (maxima_in, maxima) = scope.new_collection::<i64, isize>();
///         let expiry = Expiry { maxima, delay: 0, closes_at: Box::new(|_key: &char| Some(10)) };
///         let counts = aggregate_append_only_expiring(keys, "Count", Count::<()>::new(), expiry, |key: char, diff, states| {
///             *states.entry(key).or_insert(0) += diff as i64;
///         });
///         let (probe, _) = counts.inspect(move |u| sink.lock().unwrap().push(*u)).probe();
///         (keys_in, maxima_in, probe)
///     });
///     keys.insert('a');
///     maxima.insert(20); // epoch 0 saw event time 20: the watermark of epoch 1 is 20
///     for epoch in 1..3 {
///         keys.advance_to(epoch); maxima.advance_to(epoch);
///         if epoch == 2 { keys.insert('a'); }
///     }
///     keys.advance_to(3); maxima.advance_to(3);
///     keys.flush(); maxima.flush();
///     worker.step_while(|| probe.less_than(keys.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort_by_key(|(_, t, _)| *t);
/// // Without expiry epoch 2 would show -('a', 1) and +('a', 2).
/// assert_eq!(changes, vec![(('a', 1), 0, 1), (('a', 1), 2, 1)]);
/// ```
pub fn aggregate_append_only_expiring<'scope, D, K, A, F>(
    records: VecCollection<'scope, u64, D, isize>,
    name: &str,
    agg: A,
    expiry: Expiry<'scope, K>,
    fold: F,
) -> VecCollection<'scope, u64, (K, A::Output), isize>
where
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    use timely::dataflow::operators::vec::Broadcast;
    let partials = fold_locally::<_, _, _, A, _>(records.inner, &format!("{name}: fold locally"), fold);
    let by_key = Exchange::new(|(key, _time, _state): &Partial<K, u64, A::State>| key.hashed());
    let maxima = expiry.maxima.inner.broadcast();
    let (delay, closes_at) = (expiry.delay, expiry.closes_at);
    partials
        .binary_frontier::<_, CapacityContainerBuilder<Vec<_>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            name,
            move |_initial, _info| {
                let mut pending = Pending::<u64, K, A::State>::default();
                let mut totals = Map::<K, A::State>::default();
                let mut clock = crate::watermark::WatermarkClock::default();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    let port = output.output_index();
                    maxima.for_each_stamp(|_cap, containers| clock.saw_all(containers));
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            pending.merge_partials(&cap, container, port, &agg);
                        }
                    });
                    // A time is merged once its partials are complete and the watermark of the
                    // time is known (no maximum of an earlier epoch can still arrive).
                    while let Some(&time) = pending.times.keys().next() {
                        if maxima_frontier.frontier().iter().any(|f| *f < time) {
                            break;
                        }
                        let Some((cap, partials)) = pending.pop_complete(frontier) else {
                            break;
                        };
                        // The keys the watermark of this time has closed get nothing at this
                        // time or later: forget them first.
                        if let Some(watermark) = clock.watermark_of(time, delay) {
                            totals.retain(|key, _| closes_at(key).is_none_or(|end| end > watermark));
                        }
                        let mut session = output.session(&cap);
                        merge_time(&agg, &mut totals, partials, &time, &mut |update| {
                            session.give(update)
                        });
                    }
                }
            },
        )
        .as_collection()
}

/// The entries of `states` in key order, so that the operator's output of a time is sorted by
/// `(key, output)`: the sink sorts the output, and a merge of sorted runs is cheaper than a
/// sort (see [`gather_sorted`](crate::gather_sorted)).
fn sorted_by_key<K: Ord, S>(states: Map<K, S>) -> Vec<(K, S)> {
    let mut sorted: Vec<(K, S)> = states.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    sorted
}

/// The updates that change `key`'s output from `old` to `new` (which differ), sorted by output.
fn change<K: Clone, O: Ord>(key: K, old: Option<O>, new: Option<O>) -> impl Iterator<Item = ((K, O), isize)> {
    let retraction = old.map(|old| ((key.clone(), old), -1));
    let insertion = new.map(|new| ((key, new), 1));
    let (first, second) = match (&retraction, &insertion) {
        (Some(((_, old), _)), Some(((_, new), _))) if new < old => (insertion, retraction),
        _ => (retraction, insertion),
    };
    first.into_iter().chain(second)
}

/// Per-key states of the times the input frontier has not yet passed, each with a capability
/// to send at that time.
pub(crate) struct Pending<T: Timestamp, K, S> {
    pub(crate) times: BTreeMap<T, (Capability<T>, Map<K, S>)>,
    /// Keys of the time completed last: a new time's map starts with room for as many. An
    /// epoch touches about as many keys as the one before, and a map that grows by doubling
    /// rehashes every key it holds each time (for a row key, a walk over its values).
    last_keys: usize,
}

impl<T: Timestamp, K, S> Default for Pending<T, K, S> {
    fn default() -> Self {
        Pending {
            times: BTreeMap::new(),
            last_keys: 0,
        }
    }
}

impl<T: Timestamp + TotalOrder, K, S> Pending<T, K, S> {
    /// The states at `time`, taking a capability for it from `cap` (on output `port`) if new.
    pub(crate) fn at(&mut self, cap: &InputCapability<T>, time: T, port: usize) -> &mut Map<K, S> {
        self.at_with(time, |time| cap.delayed(time, port))
    }

    /// The states at `time`, taking a capability for it with `capability` if new.
    pub(crate) fn at_with(
        &mut self,
        time: T,
        capability: impl FnOnce(&T) -> Capability<T>,
    ) -> &mut Map<K, S> {
        let room = self.last_keys;
        &mut self
            .times
            .entry(time)
            .or_insert_with_key(|time| {
                (
                    capability(time),
                    Map::with_capacity_and_hasher(room, Default::default()),
                )
            })
            .1
    }

    /// Merges a container of partial states into the pending states of their times.
    fn merge_partials<A>(
        &mut self,
        cap: &InputCapability<T>,
        container: &mut Vec<(K, T, S)>,
        port: usize,
        agg: &A,
    ) where
        K: Hash + Eq,
        A: Aggregation<State = S>,
    {
        for (key, time, partial) in container.drain(..) {
            let partials = self.at(cap, time, port);
            match partials.get_mut(&key) {
                Some(state) => agg.merge(state, partial),
                None => {
                    partials.insert(key, partial);
                }
            }
        }
    }

    /// Removes the earliest time if the input frontier has passed it.
    pub(crate) fn pop_complete(
        &mut self,
        frontier: &MutableAntichain<T>,
    ) -> Option<(Capability<T>, Map<K, S>)> {
        let earliest = self.times.first_entry()?;
        if frontier.less_equal(earliest.key()) {
            None
        } else {
            let (cap, states) = earliest.remove();
            self.last_keys = states.len();
            Some((cap, states))
        }
    }
}

/// Counts the values of each key (with multiplicity); keys with no values are absent.
pub struct Count<V>(PhantomData<fn(&V)>);

impl<V> Count<V> {
    /// A count of values of type `V`.
    pub fn new() -> Self {
        Count(PhantomData)
    }
}

impl<V> Default for Count<V> {
    fn default() -> Self {
        Count::new()
    }
}

impl<V> Clone for Count<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Count<V> {}

impl<V> fmt::Debug for Count<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Count")
    }
}

impl<V: 'static> Aggregation for Count<V> {
    type Input = V;
    type State = i64;
    type Output = i64;

    fn init(&self) -> i64 {
        0
    }
    fn update(&self, state: &mut i64, _input: &V, diff: isize) {
        *state += diff as i64;
    }
    fn merge(&self, into: &mut i64, other: i64) {
        *into += other;
    }
    fn output(&self, state: &i64) -> Option<i64> {
        (*state != 0).then_some(*state)
    }
}

/// Sums the `i64` values of each key (with multiplicity). A key whose values sum to zero is
/// published with a sum of 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sum;

impl Aggregation for Sum {
    type Input = i64;
    type State = i64;
    type Output = i64;

    fn init(&self) -> i64 {
        0
    }
    fn update(&self, state: &mut i64, input: &i64, diff: isize) {
        *state += input * diff as i64;
    }
    fn merge(&self, into: &mut i64, other: i64) {
        *into += other;
    }
    fn output(&self, state: &i64) -> Option<i64> {
        Some(*state)
    }
}

/// The greatest value of each key. Later values that are not greater change nothing, so they
/// produce no output updates.
pub struct Max<V>(PhantomData<fn(&V)>);

impl<V> Max<V> {
    /// The maximum of values of type `V`.
    pub fn new() -> Self {
        Max(PhantomData)
    }
}

impl<V> Default for Max<V> {
    fn default() -> Self {
        Max::new()
    }
}

impl<V> Clone for Max<V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<V> Copy for Max<V> {}

impl<V> fmt::Debug for Max<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Max")
    }
}

impl<V: ExchangeData> Aggregation for Max<V> {
    type Input = V;
    type State = Option<V>;
    type Output = V;

    fn init(&self) -> Option<V> {
        None
    }
    fn update(&self, state: &mut Option<V>, input: &V, _diff: isize) {
        if state.as_ref().is_none_or(|max| input > max) {
            *state = Some(input.clone());
        }
    }
    fn merge(&self, into: &mut Option<V>, other: Option<V>) {
        if other > *into {
            *into = other;
        }
    }
    fn output(&self, state: &Option<V>) -> Option<V> {
        state.clone()
    }
}
