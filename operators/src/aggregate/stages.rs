//! The two stages every append-only aggregate runs: each worker folds its records of a time
//! into one partial state per key, then the key's owner merges the partials into the key's
//! total and emits the change of its output.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{Data, ExchangeData, Hashable};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::dataflow::Stream;
use timely::order::TotalOrder;
use timely::progress::frontier::MutableAntichain;
use timely::progress::Timestamp;

use crate::gather::{keep_by_time, Runs};

use super::{Aggregation, Changes, KeyFigures, PartialStates, StateLog};

/// Per-worker hash map (see [`PartialStates`] for the seeding).
pub(crate) type Map<K, S> = PartialStates<K, S>;

/// The keys' total states on the worker that owns them, kept for as long as the keys live.
///
/// An index map: the entries sit in one vector, behind a table of their indices. A hash map
/// would keep each entry in a bucket of a table sized up to twice the keys, and briefly three
/// times while it grows; here a key costs its entry once (the vector grows in place, and only
/// its used part is resident) and a few bytes of table. A group-by with millions of keys
/// holds little else.
pub(crate) type Totals<K, S> = indexmap::IndexMap<K, S, foldhash::fast::RandomState>;

/// Per pending time of stage 2, its capability and the containers of partials that came for it.
type Arrived<T, K, S> = Runs<T, Partial<K, T, S>>;

/// Differential updates of `(key, value)` pairs: `((key, value), time, diff)`.
type Updates<K, V, T> = Vec<((K, V), T, isize)>;

/// Each worker's [`KeyFigures`] per time, as updates.
pub(crate) type FiguresStream<'scope, T> = Stream<'scope, T, Vec<(KeyFigures, T, isize)>>;

/// What the merge stage gives: the changes of the keys' outputs, and its figures.
pub(crate) type Merged<'scope, T, K, O> = (Stream<'scope, T, Updates<K, O, T>>, FiguresStream<'scope, T>);

/// What one merge of a time's partials emits of a changed key ([`Changes`]), and its counts
/// of the keys it added, updated and removed.
pub(crate) struct Merging {
    pub(crate) changes: Changes,
    pub(crate) figures: KeyFigures,
}

impl Merging {
    /// A merge that emits `changes` and starts counting from zero.
    pub(crate) fn new(changes: Changes) -> Self {
        Merging {
            changes,
            figures: KeyFigures::default(),
        }
    }
}

/// A durable merge's log, and the times it merges without output (see
/// [`Durable`](super::Durable)).
pub(crate) struct Logged<T, K, S> {
    pub(crate) log: StateLog<T, K, S>,
    pub(crate) first_new: T,
    pub(crate) quiet_restore: bool,
}

impl<T: Timestamp + TotalOrder, K: ExchangeData + Hash, S: Clone> Logged<T, K, S> {
    /// Whether `time` holds restored totals (not logged again).
    pub(crate) fn is_restored(&self, time: &T) -> bool {
        time.less_than(&self.first_new)
    }

    /// Whether `time` holds restored totals that are merged without output.
    pub(crate) fn is_quiet(&self, time: &T) -> bool {
        self.quiet_restore && self.is_restored(time)
    }

    /// The keys of a time's partials to log after `time` is merged, if it is logged.
    pub(crate) fn keys_to_log<'k>(&self, time: &T, keys: impl IntoIterator<Item = &'k K>) -> Option<Vec<K>>
    where
        K: 'k,
    {
        (!self.is_restored(time)).then(|| keys.into_iter().cloned().collect())
    }

    /// Hands `keys`' totals after `time` to the log.
    pub(crate) fn record(&mut self, time: &T, keys: Vec<K>, totals: &Totals<K, S>) {
        let entries = keys
            .into_iter()
            .filter_map(|key| totals.get(&key).cloned().map(|total| (key, total)))
            .collect();
        (self.log)(time, entries);
    }
}

/// Merges one complete time's partials into the totals and gives the changes (see
/// [`merge_time`]); with a durable merge's `log`, restored totals are merged quietly and the
/// changed totals of new times are logged.
pub(crate) fn merge_logged<T, K, A>(
    agg: &A,
    totals: &mut Totals<K, A::State>,
    partials: Map<K, A::State>,
    time: &T,
    log: Option<&mut Logged<T, K, A::State>>,
    merging: &mut Merging,
    give: &mut impl FnMut(((K, A::Output), T, isize)),
) where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    let Some(log) = log else {
        return merge_time(agg, totals, partials, time, merging, give);
    };
    let changed = log.keys_to_log(time, partials.keys());
    if log.is_quiet(time) {
        merging.figures.added += merge_quietly(agg, totals, partials);
    } else {
        merge_time(agg, totals, partials, time, merging, give);
    }
    if let Some(keys) = changed {
        log.record(time, keys, totals);
    }
}

/// As [`merge_logged`], for a time's partials already sorted by key, one per key.
fn merge_logged_sorted<T, K, A>(
    agg: &A,
    totals: &mut Totals<K, A::State>,
    partials: Vec<(K, A::State)>,
    time: &T,
    log: Option<&mut Logged<T, K, A::State>>,
    merging: &mut Merging,
    give: &mut impl FnMut(((K, A::Output), T, isize)),
) where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    let Some(log) = log else {
        return merge_sorted(agg, totals, partials, time, merging, give);
    };
    let changed = log.keys_to_log(time, partials.iter().map(|(key, _)| key));
    if log.is_quiet(time) {
        merging.figures.added += merge_quietly(agg, totals, partials);
    } else {
        merge_sorted(agg, totals, partials, time, merging, give);
    }
    if let Some(keys) = changed {
        log.record(time, keys, totals);
    }
}

/// Merges restored totals into `totals` without output (see [`Logged::is_quiet`]): nothing
/// downstream needs them in order. Returns how many keys it added.
pub(crate) fn merge_quietly<K, A>(
    agg: &A,
    totals: &mut Totals<K, A::State>,
    partials: impl IntoIterator<Item = (K, A::State)>,
) -> u64
where
    K: ExchangeData + Hash,
    A: Aggregation,
{
    let mut added = 0;
    for (key, partial) in partials {
        match totals.get_mut(&key) {
            Some(total) => agg.merge(total, partial),
            None => {
                added += 1;
                totals.insert(key, partial);
            }
        }
    }
    added
}

/// A partial state of `key` at `time`, sent from stage 1 to stage 2.
pub(crate) type Partial<K, T, S> = (K, T, S);

/// Stage 1: folds each time's records into one partial state per key, on the worker that has
/// them, and sends the partials when the input frontier passes the time.
pub(super) fn fold_locally<'scope, T, D, K, A, F>(
    updates: Stream<'scope, T, Vec<(D, T, isize)>>,
    name: &str,
    fold: F,
) -> Stream<'scope, T, Vec<Partial<K, T, A::State>>>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut Map<K, A::State>) + 'static,
{
    fold_locally_ordered::<_, _, _, A, _>(updates, name, fold, SendOrder::AsFolded)
}

/// As [`fold_locally`], sending each time's partials sorted by key: what [`merge_by_key`]
/// wants, since it merges the sorted runs of every worker instead of hashing the partials
/// again. The sort is the one the merge would otherwise do on the key's owner, here done by
/// every worker on its own share. With a [`KeyPrefix`], it is a radix sort of the prefixes.
pub(super) fn fold_locally_sorted<'scope, T, D, K, A, F>(
    updates: Stream<'scope, T, Vec<(D, T, isize)>>,
    name: &str,
    fold: F,
    prefix: Option<KeyPrefix<K>>,
) -> Stream<'scope, T, Vec<Partial<K, T, A::State>>>
where
    T: Timestamp + TotalOrder,
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut Map<K, A::State>) + 'static,
{
    fold_locally_ordered::<_, _, _, A, _>(updates, name, fold, SendOrder::ByKey(prefix))
}

/// A number whose order agrees with the keys' (`a < b` implies `prefix(a) <= prefix(b)`), such
/// as a text's first eight bytes: keys sort by a radix sort of it, then by comparison only
/// where it ties. A comparison sort of an epoch's keys costs a few hundred instructions a key
/// when they are words; a radix sort of their prefixes, half as many.
pub type KeyPrefix<K> = fn(&K) -> u64;

/// The order in which a worker sends a time's partials.
#[derive(Clone, Copy)]
enum SendOrder<K> {
    /// As they leave the map.
    AsFolded,
    /// Sorted by key, by its prefix first if it has one.
    ByKey(Option<KeyPrefix<K>>),
}

fn fold_locally_ordered<'scope, T, D, K, A, F>(
    updates: Stream<'scope, T, Vec<(D, T, isize)>>,
    name: &str,
    mut fold: F,
    order: SendOrder<K>,
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
                match order {
                    SendOrder::ByKey(prefix) => {
                        // One container of the time's partials, handed over whole: given one by
                        // one, each would be pushed into a container builder of its own.
                        let mut partials: Vec<_> = states
                            .into_iter()
                            .map(|(key, state)| (key, time.clone(), state))
                            .collect();
                        match prefix {
                            Some(prefix) => sort_by_prefix(&mut partials, prefix),
                            None => partials.sort_unstable_by(|a, b| a.0.cmp(&b.0)),
                        }
                        output.session(&cap).give_container(&mut partials);
                    }
                    SendOrder::AsFolded => {
                        let partials = states.into_iter().map(|(key, state)| (key, time.clone(), state));
                        output.session(&cap).give_iterator(partials);
                    }
                }
            }
        }
    })
}

/// Sorts `partials`, each key once, by key: a radix sort of the keys' prefixes, then a
/// comparison sort of each run of equal prefixes.
fn sort_by_prefix<K: Ord, T, S>(partials: &mut [Partial<K, T, S>], prefix: KeyPrefix<K>) {
    radsort::sort_by_key(partials, |partial| prefix(&partial.0));
    for tied in partials.chunk_by_mut(|a, b| prefix(&a.0) == prefix(&b.0)) {
        if tied.len() > 1 {
            tied.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
    }
}

/// Stage 2: routes partials by key, merges each complete time into the keys' total states (in
/// time order), and emits the changes of the keys' outputs at that time (both updates of a
/// change, or its insertion alone: see [`Changes`]). With a `log`, each merged time's changed
/// keys and their new totals are handed to it before the time's output is released, so that
/// whoever waits for the output knows the log has them.
///
/// Its second output is each worker's [`KeyFigures`] per time: the keys it added (restored
/// ones too), updated and removed, so that a consumer of insertions alone can still count
/// the keys held.
///
/// A time's partials are gathered as they come and sorted by key (a stable sort, which finds
/// sorted runs): cheapest when every worker sends them sorted ([`fold_locally_sorted`]), when
/// the sort only merges the runs; any order gives the same result.
pub(crate) fn merge_by_key<'scope, T, K, A>(
    partials: Stream<'scope, T, Vec<Partial<K, T, A::State>>>,
    name: &str,
    agg: A,
    mut log: Option<Logged<T, K, A::State>>,
    changes: Changes,
) -> Merged<'scope, T, K, A::Output>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    // `hashed()` uses a fixed seed, so every process routes a key to the same worker.
    let by_key = Exchange::new(|(key, _time, _state): &Partial<K, T, A::State>| key.hashed());
    let mut builder = OperatorBuilder::new(name.to_owned(), partials.scope());
    let mut input = builder.new_input(partials, by_key);
    let (mut updates_output, updates) = builder.new_output::<Updates<K, A::Output, T>>();
    let (mut figures_output, figures) = builder.new_output::<Vec<(KeyFigures, T, isize)>>();
    builder.build(move |initial| {
        // Per pending time, the containers of partials that came for it, whole: each is a
        // piece of one worker's sorted run.
        let mut arrived = Arrived::<T, K, A::State>::new();
        // The figures go out under one capability, held from the start and kept at the input
        // frontier, which no time still to merge is before.
        let mut figures_cap = initial.into_iter().nth(1);
        let mut totals = Totals::<K, A::State>::default();
        move |frontiers| {
            let frontier = &frontiers[0];
            // Sessions flush what they were given when dropped, at the end of the activation.
            let (mut updates_out, mut figures_out) = (updates_output.activate(), figures_output.activate());
            input.for_each_stamp(|cap, containers| {
                for container in containers {
                    // Restored totals merged quietly go straight into the totals: no time
                    // before them is pending, and nothing but their count is sent for them.
                    if let Some(log) = log.as_ref().filter(|log| log.quiet_restore) {
                        if let Some((_, time, _)) =
                            container.iter().find(|(_, time, _)| log.is_restored(time))
                        {
                            let time = time.clone();
                            let (restored, new): (Vec<_>, Vec<_>) = container
                                .drain(..)
                                .partition(|(_, time, _)| log.is_restored(time));
                            *container = new;
                            let restored = restored.into_iter().map(|(key, _, partial)| (key, partial));
                            let added = merge_quietly(&agg, &mut totals, restored);
                            let figures = KeyFigures {
                                added,
                                ..KeyFigures::default()
                            };
                            if let Some(held) = figures_cap.as_ref() {
                                figures_out.give(&held.delayed(&time), &mut vec![(figures, time, 1)]);
                            }
                        }
                    }
                    keep_by_time(&mut arrived, &cap, 0, container);
                }
            });
            while let Some(earliest) = arrived.first_entry() {
                if frontier.less_equal(earliest.key()) {
                    break;
                }
                let (cap, runs) = earliest.remove();
                let partials = merge_runs(&agg, runs);
                let time = cap.time().clone();
                let restored = log.as_ref().is_some_and(|log| log.is_restored(&time));
                let mut merging = Merging::new(changes);
                if !restored {
                    merging.figures.updated = partials.len() as u64;
                }
                // At most a retraction and an insertion per key, collected and handed over as
                // one container (none for restored totals merged quietly). Room never used is
                // never touched, so it costs address space, not memory.
                let quiet = log.as_ref().is_some_and(|log| log.is_quiet(&time));
                let room = match changes {
                    _ if quiet => 0,
                    Changes::Both => 2 * partials.len(),
                    Changes::Insertions => partials.len(),
                };
                let mut updates = Vec::with_capacity(room);
                merge_logged_sorted(
                    &agg,
                    &mut totals,
                    partials,
                    &time,
                    log.as_mut(),
                    &mut merging,
                    &mut |update| updates.push(update),
                );
                updates_out.give(&cap, &mut updates);
                if let Some(held) = figures_cap
                    .as_ref()
                    .filter(|_| merging.figures != KeyFigures::default())
                {
                    figures_out.give(&held.delayed(&time), &mut vec![(merging.figures, time, 1)]);
                }
            }
            match frontier.frontier().first() {
                Some(least) => {
                    if let Some(held) = figures_cap.as_mut() {
                        held.downgrade(least);
                    }
                }
                None => figures_cap = None,
            }
        }
    });
    (updates, figures)
}

/// One time's partials, from containers that are pieces of sorted runs (in any order, and not
/// necessarily sorted: the result is the same), sorted by key with each key's partials merged
/// into one. A stable sort finds the runs and merges them, so sorted input costs a merge.
fn merge_runs<K: Ord, T, A: Aggregation>(
    agg: &A,
    runs: Vec<Vec<Partial<K, T, A::State>>>,
) -> Vec<(K, A::State)> {
    // One container strictly sorted by key (one worker's whole run, as with one worker) is
    // the result as it is: checking costs a comparison a key, the merge below a comparison
    // and a move.
    let runs = match <[_; 1]>::try_from(runs) {
        Ok([run]) if run.is_sorted_by(|a, b| a.0 < b.0) => {
            return run.into_iter().map(|(key, _, partial)| (key, partial)).collect();
        }
        Ok(run) => Vec::from(run),
        Err(runs) => runs,
    };
    let mut all: Vec<(K, A::State)> = Vec::with_capacity(runs.iter().map(Vec::len).sum());
    for run in runs {
        all.extend(run.into_iter().map(|(key, _, partial)| (key, partial)));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(K, A::State)> = Vec::with_capacity(all.len());
    for (key, partial) in all {
        match merged.last_mut() {
            Some((last, state)) if *last == key => agg.merge(state, partial),
            _ => merged.push((key, partial)),
        }
    }
    merged
}

/// Merges one complete time's partial states into the keys' totals, and gives the changes of
/// the keys' outputs at that time, sorted by key.
pub(super) fn merge_time<T, K, A>(
    agg: &A,
    totals: &mut Totals<K, A::State>,
    partials: Map<K, A::State>,
    time: &T,
    merging: &mut Merging,
    give: &mut impl FnMut(((K, A::Output), T, isize)),
) where
    T: Timestamp,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    merge_sorted(agg, totals, sorted_by_key(partials), time, merging, give)
}

/// As [`merge_time`], for partials already sorted by key, one per key. Counts in `merging`
/// the keys whose output appears or goes. Under [`Changes::Insertions`] every key with a
/// partial gets its new output, changed or not (Spark's update mode writes each key that had
/// input in the batch).
fn merge_sorted<T, K, A>(
    agg: &A,
    totals: &mut Totals<K, A::State>,
    partials: Vec<(K, A::State)>,
    time: &T,
    merging: &mut Merging,
    give: &mut impl FnMut(((K, A::Output), T, isize)),
) where
    T: Timestamp,
    K: ExchangeData + Hash,
    A: Aggregation,
{
    for (key, partial) in partials {
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
        // A key that had input is written again in update mode even when its result did
        // not change (a `max` that held), as Spark's state store writes every key of the
        // batch; as a collection of results (`Both`), an unchanged key changes nothing.
        let changed = old != new;
        if changed || merging.changes == Changes::Insertions {
            match (&old, &new) {
                (None, Some(_)) => merging.figures.added += 1,
                (Some(_), None) => merging.figures.removed += 1,
                _ => {}
            }
            match (merging.changes, new) {
                // The insertion alone: no retraction to pair it with, nor an order to keep.
                (Changes::Insertions, Some(new)) => give(((key, new), time.clone(), 1)),
                (Changes::Insertions, None) => {}
                (Changes::Both, new) => {
                    for (data, diff) in change(key, old, new, Changes::Both) {
                        give((data, time.clone(), diff));
                    }
                }
            }
        }
    }
}

/// The entries of `states` in key order, so that the operator's output of a time is sorted by
/// `(key, output)`: the sink sorts the output, and a merge of sorted runs is cheaper than a
/// sort (see [`gather_sorted`](crate::gather_sorted)).
fn sorted_by_key<K: Ord, S>(states: Map<K, S>) -> Vec<(K, S)> {
    let mut sorted: Vec<(K, S)> = states.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    sorted
}

/// The updates that change `key`'s output from `old` to `new` (which differ, unless only
/// insertions are asked for), sorted by output: with [`Changes::Insertions`], the insertion
/// alone.
fn change<K: Clone, O: Ord>(
    key: K,
    old: Option<O>,
    new: Option<O>,
    changes: Changes,
) -> impl Iterator<Item = ((K, O), isize)> {
    let old = old.filter(|_| changes == Changes::Both);
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
    pub(super) fn merge_partials<A>(
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{merge_runs, sort_by_prefix};
    use crate::aggregate::Count;

    /// A text's first eight bytes as a big-endian number, zero-padded: its order agrees with
    /// the texts'.
    fn head(text: &String) -> u64 {
        let mut bytes = [0u8; 8];
        let n = text.len().min(8);
        bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
        u64::from_be_bytes(bytes)
    }

    proptest! {
        /// The radix sort by prefix, ties sorted by key, gives the keys' own order: words that
        /// share their first eight bytes (or differ past them, or by a trailing NUL, which
        /// pads as the prefix does) included.
        #[test]
        fn sorting_by_prefix_gives_the_keys_order(
            words in proptest::collection::hash_set("(abcdefgh|abc|)[a-c\\x00]{0,4}", 0..200)
        ) {
            let mut by_prefix: Vec<(String, u64, i64)> = words.iter().map(|w| (w.clone(), 0, 1)).collect();
            let mut expected = by_prefix.clone();
            expected.sort();
            sort_by_prefix(&mut by_prefix, head);
            prop_assert_eq!(by_prefix, expected);
        }
    }

    /// Runs from two workers, interleaved as containers arrive, plus an unsorted container:
    /// the result is every key once, sorted, with its partials summed (counted by hand).
    #[test]
    fn runs_merge_into_one_sorted_partial_per_key() {
        let runs = vec![
            vec![("a", 0u64, 1i64), ("c", 0, 2)],
            vec![("b", 0, 5), ("c", 0, 1)],
            vec![("d", 0, 1), ("e", 0, 3)],
            vec![("e", 0, 4), ("a", 0, 10)],
        ];
        let merged = merge_runs(&Count::<()>::new(), runs);
        assert_eq!(merged, vec![("a", 11), ("b", 5), ("c", 3), ("d", 1), ("e", 7)]);
        assert!(merge_runs(&Count::<()>::new(), Vec::<Vec<(&str, u64, i64)>>::new()).is_empty());
        // One container: taken as it is when strictly sorted, sorted and merged otherwise.
        let one = |run: Vec<(&'static str, u64, i64)>| merge_runs(&Count::<()>::new(), vec![run]);
        assert_eq!(one(vec![("a", 0, 1), ("b", 0, 2)]), vec![("a", 1), ("b", 2)]);
        assert_eq!(one(vec![("b", 0, 1), ("a", 0, 2)]), vec![("a", 2), ("b", 1)]);
        assert_eq!(
            one(vec![("a", 0, 1), ("a", 0, 2), ("b", 0, 1)]),
            vec![("a", 3), ("b", 1)]
        );
    }
}
