//! The append-only aggregate that forgets a key once the watermark has closed it.

use std::collections::BTreeMap;
use std::hash::Hash;
use std::rc::Rc;

use differential_dataflow::{AsCollection, Data, ExchangeData, Hashable, VecCollection};
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;

use super::stages::{fold_locally, merge_logged, Logged, Merging, Partial, Pending, Totals};
use super::{Aggregation, Changes, Counted, Durable, KeyFigures, PartialStates, PartialStream};
use crate::watermark::is_final;

/// The event time at which a key closes (e.g. its window's end), if it ever does.
pub type ClosesAt<K> = Box<dyn Fn(&K) -> Option<i64>>;

/// When the state of a key can be forgotten: once the event-time watermark has passed the
/// time `closes_at(key)` (a window's end), no record can change the key any more: the
/// aggregation drops the records of such a key as late (Spark's rule). The watermark of epoch
/// `t` is the greatest of `maxima` before `t` (every worker's greatest event time per epoch),
/// less `delay`.
pub struct Expiry<'scope, K> {
    /// Each worker's greatest event time per epoch, e.g. the second output of `drop_late`.
    pub maxima: VecCollection<'scope, u64, i64, isize>,
    /// The watermark's delay.
    pub delay: i64,
    /// The event time at which a key closes, if it ever does.
    pub closes_at: ClosesAt<K>,
    /// Greatest event times of epochs before this run, `(max, epoch)`, as a restarted query
    /// knows them from its checkpoint: the watermark goes on from them.
    pub seen: Vec<(i64, u64)>,
    /// What the aggregation emits: every change of a key's result, or only each key's final
    /// result, once, when the watermark closes it.
    pub emit: Emit,
}

/// What an expiring aggregation emits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Emit {
    /// Every change of a key's result as it happens (a retraction of the old output and an
    /// insertion of the new one): for update mode, and for a consumer that keeps the current
    /// result. Keys are forgotten without output.
    #[default]
    Changes,
    /// Nothing while a key is open; at the time whose watermark closes it, its final result,
    /// once, as an insertion, and then it is forgotten: all an append sink (or an aggregation
    /// over closed windows) needs, without the changes before. A key that never closes is
    /// never emitted. The aggregation then counts its own keys (the third output of
    /// [`Expired`]), since its output no longer tells them.
    Closed,
    /// Every new result of a key as it happens, the insertion alone (see
    /// [`Changes::Insertions`]): all a sink in update mode writes. The aggregation counts its
    /// own keys, as under [`Emit::Closed`].
    Insertions,
}

/// As [`aggregate_append_only_into`](super::aggregate_append_only_into), forgetting each key's state once the watermark has
/// passed the time it closes at (see [`Expiry`]): state stays bounded over an endless stream
/// of windows. Forgetting emits nothing, so the output keeps the key's last value: the output
/// is for sinks that write final or changed rows (append and update), not for a consumer that
/// needs the whole current result.
///
/// # Examples
///
/// Key `'a'` closes at event time 10 and `'b'` at 30. Once the watermark passes 10, `'a'`'s
/// count is forgotten, and a record for it is late: it is dropped, and counted.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{aggregate_append_only_expiring, Count, Emit, Expiry};
///
/// let changes = Arc::new(Mutex::new(Vec::new()));
/// let late = Arc::new(Mutex::new(Vec::new()));
/// let (sink, late_sink) = (changes.clone(), late.clone());
/// timely::execute_directly(move |worker| {
///     let (mut keys, mut maxima, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (keys_in, keys) = scope.new_collection::<char, isize>();
///         let (maxima_in, maxima) = scope.new_collection::<i64, isize>();
///         let closes_at = Box::new(|key: &char| Some(if *key == 'a' { 10 } else { 30 }));
///         let expiry = Expiry { maxima, delay: 0, closes_at, seen: Vec::new(), emit: Emit::Changes };
///         let (counts, dropped, _figures) = aggregate_append_only_expiring(keys, "Count", Count::<()>::new(), expiry, |key: char, diff, states| {
///             *states.entry(key).or_insert(0) += diff as i64;
///         });
///         dropped.inspect(move |d| late_sink.lock().unwrap().push(*d));
///         let (probe, _) = counts.inspect(move |u| sink.lock().unwrap().push(*u)).probe();
///         (keys_in, maxima_in, probe)
///     });
///     keys.insert('a');
///     maxima.insert(20); // epoch 0 saw event time 20: the watermark of epoch 1 is 20
///     for epoch in 1..3 {
///         keys.advance_to(epoch); maxima.advance_to(epoch);
///         if epoch == 2 { keys.insert('a'); keys.insert('b'); }
///     }
///     keys.advance_to(3); maxima.advance_to(3);
///     keys.flush(); maxima.flush();
///     worker.step_while(|| probe.less_than(keys.time()));
/// });
/// let mut changes = changes.lock().unwrap().clone();
/// changes.sort_by_key(|(_, t, _)| *t);
/// // Epoch 2's 'a' is late: without the rule it would show -('a', 1) and +('a', 2).
/// assert_eq!(changes, vec![(('a', 1), 0, 1), (('b', 1), 2, 1)]);
/// assert_eq!(*late.lock().unwrap(), vec![(1, 2, 1)]);
/// ```
pub fn aggregate_append_only_expiring<'scope, D, K, A, F>(
    records: VecCollection<'scope, u64, D, isize>,
    name: &str,
    agg: A,
    expiry: Expiry<'scope, K>,
    fold: F,
) -> Expired<'scope, K, A::Output>
where
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    expiring(records, name, agg, expiry, fold, None)
}

/// As [`aggregate_append_only_expiring`], durable (see [`Durable`]): the totals restored
/// should be those of keys still open (the caller leaves out the ones the watermark had
/// closed before the restart), and each merged time's changed totals go to the log.
pub fn aggregate_append_only_expiring_durable<'scope, D, K, A, F>(
    records: VecCollection<'scope, u64, D, isize>,
    name: &str,
    agg: A,
    expiry: Expiry<'scope, K>,
    fold: F,
    durable: Durable<'scope, u64, K, A::State>,
) -> Expired<'scope, K, A::Output>
where
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    expiring(records, name, agg, expiry, fold, Some(durable))
}

fn expiring<'scope, D, K, A, F>(
    records: VecCollection<'scope, u64, D, isize>,
    name: &str,
    agg: A,
    expiry: Expiry<'scope, K>,
    fold: F,
    durable: Option<Durable<'scope, u64, K, A::State>>,
) -> Expired<'scope, K, A::Output>
where
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    use timely::dataflow::operators::vec::Broadcast;
    let partials = fold_locally::<_, _, _, A, _>(records.inner, &format!("{name}: fold locally"), fold);
    let (partials, mut log) = Durable::wire(durable, partials);
    let seen = expiry.seen;
    let maxima = expiry.maxima.inner.broadcast();
    let (delay, closes_at) = (expiry.delay, Rc::new(expiry.closes_at));
    let (partials, dropped) =
        drop_late_partials(partials, maxima.clone(), delay, closes_at.clone(), seen.clone());
    if expiry.emit == Emit::Closed {
        return emit_closed(partials, dropped, maxima, name, agg, delay, closes_at, seen, log);
    }
    let changes = match expiry.emit {
        Emit::Insertions => Changes::Insertions,
        _ => Changes::Both,
    };
    let mut totals = Totals::<K, A::State>::default();
    let merge = agg.clone();
    let (results, figures) = merge_stage(
        partials,
        maxima,
        name,
        agg,
        seen,
        delay,
        move |time, partials, watermark, rows, figures| {
            let mut merging = Merging::new(changes);
            if let Some(partials) = partials {
                if !log.as_ref().is_some_and(|log| log.is_restored(&time)) {
                    merging.figures.updated = partials.len() as u64;
                }
                merge_logged(
                    &merge,
                    &mut totals,
                    partials,
                    &time,
                    log.as_mut(),
                    &mut merging,
                    &mut |update| rows.push(update),
                );
            }
            // The keys the watermark of this time has closed, updated above if at all, get
            // nothing later: forget them.
            if let Some(watermark) = watermark {
                totals.retain(|key, total| {
                    let open = closes_at(key).is_none_or(|end| !is_final(end, Some(watermark)));
                    if !open && merge.output(total).is_some() {
                        merging.figures.removed += 1;
                    }
                    open
                });
            }
            *figures = merging.figures;
        },
    );
    // Under `Emit::Changes` the driver counts the keys from the output, and the figures go
    // unread.
    (results, dropped, figures)
}

/// The merge stage of an expiring aggregation: partials routed by key, and every worker's
/// event-time maxima, in; the rows and each worker's figures per time out, as two outputs of
/// one operator (a stage that split one stream in two cost more than the merge). It holds a
/// capability from the start, so that a time without partials (an epoch the watermark alone
/// called for) is still processed. Each time, once its partials are all here and its
/// watermark is known, `merge_time(time, partials, watermark, rows, figures)` merges the
/// time's partials (if any), under the time's watermark (if known), adding the rows to emit
/// and setting the figures.
fn merge_stage<'scope, K, A>(
    partials: PartialStream<'scope, u64, K, A::State>,
    maxima: Stream<'scope, u64, Vec<(i64, u64, isize)>>,
    name: &str,
    agg: A,
    seen: Vec<(i64, u64)>,
    delay: i64,
    mut merge_time: impl FnMut(
            u64,
            Option<PartialStates<K, A::State>>,
            Option<i64>,
            &mut Vec<((K, A::Output), u64, isize)>,
            &mut KeyFigures,
        ) + 'static,
) -> Counted<'scope, u64, K, A::Output>
where
    K: ExchangeData + Hash,
    A: Aggregation,
{
    use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
    let by_key = Exchange::new(|(key, _time, _state): &Partial<K, u64, A::State>| key.hashed());
    let mut builder = OperatorBuilder::new(name.to_owned(), partials.scope());
    let mut input = builder.new_input(partials, by_key);
    let mut maxima_input = builder.new_input(maxima, Pipeline);
    let (mut rows_output, rows) = builder.new_output::<Vec<((K, A::Output), u64, isize)>>();
    let (mut figures_output, figures) = builder.new_output::<Vec<(KeyFigures, u64, isize)>>();
    builder.build(move |initial| {
        let mut initial = initial.into_iter();
        let mut held = initial.next().zip(initial.next());
        let mut pending = Pending::<u64, K, A::State>::default();
        let mut clock = crate::watermark::WatermarkClock::resumed(seen);
        move |frontiers| {
            let (frontier, maxima_frontier) = (&frontiers[0], &frontiers[1]);
            maxima_input.for_each_stamp(|_cap, containers| clock.saw_all(containers));
            input.for_each_stamp(|cap, containers| {
                for container in containers {
                    pending.merge_partials(&cap, container, 0, &agg);
                }
            });
            let Some((rows_cap, figures_cap)) = held.as_mut() else {
                return;
            };
            let (mut rows_out, mut figures_out) = (rows_output.activate(), figures_output.activate());
            let done = frontier.frontier().is_empty() && maxima_frontier.frontier().is_empty();
            let last = pending.times.keys().next_back().copied();
            loop {
                let time = *rows_cap.time();
                // A time is merged once its partials are all here and its watermark is known
                // (no maximum of an earlier epoch can still arrive); at the end, only the
                // times that have partials are left.
                let ready = if done {
                    last.is_some_and(|last| time <= last)
                } else {
                    !frontier.less_equal(&time) && !maxima_frontier.frontier().iter().any(|f| *f < time)
                };
                if !ready {
                    break;
                }
                // Popped as the earliest complete time, so that the next time's map starts
                // sized like this one.
                let earliest = pending.times.keys().next() == Some(&time);
                let popped = if earliest {
                    pending.pop_complete(frontier).map(|(_, partials)| partials)
                } else {
                    None
                };
                let mut rows = Vec::new();
                let mut figures = KeyFigures::default();
                merge_time(
                    time,
                    popped,
                    clock.watermark_of(time, delay),
                    &mut rows,
                    &mut figures,
                );
                rows_out.give(&*rows_cap, &mut rows);
                if figures != KeyFigures::default() {
                    figures_out.give(&*figures_cap, &mut vec![(figures, time, 1)]);
                }
                rows_cap.downgrade(&(time + 1));
                figures_cap.downgrade(&(time + 1));
            }
            if done {
                held = None;
            }
        }
    });
    (rows.as_collection(), figures.as_collection())
}

/// The merge stage of an [`Emit::Closed`] aggregation (`dropped` passes through): partials
/// are merged into the totals without output (logged, if durable); at each time, once its partials are all merged and
/// its watermark is known, the keys that watermark closes are emitted, sorted by key, and
/// forgotten. The stage holds a capability from the start, so that a time without any
/// partial (an epoch the watermark alone called for) still closes what its watermark passed.
#[allow(clippy::too_many_arguments)]
fn emit_closed<'scope, K, A>(
    partials: PartialStream<'scope, u64, K, A::State>,
    dropped: Dropped<'scope>,
    maxima: Stream<'scope, u64, Vec<(i64, u64, isize)>>,
    name: &str,
    agg: A,
    delay: i64,
    closes_at: Rc<ClosesAt<K>>,
    seen: Vec<(i64, u64)>,
    mut log: Option<Logged<u64, K, A::State>>,
) -> Expired<'scope, K, A::Output>
where
    K: ExchangeData + Hash,
    A: Aggregation,
{
    let mut totals = Totals::<K, A::State>::default();
    // The keys that close, by the time they close at: the watermark takes them from the
    // front, without a walk over the keys still open.
    let mut closing: BTreeMap<i64, Vec<K>> = BTreeMap::new();
    let merge = agg.clone();
    let (rows, figures) = merge_stage(
        partials,
        maxima,
        name,
        agg,
        seen,
        delay,
        move |time, partials, watermark, rows, figures| {
            let restored = log.as_ref().is_some_and(|log| log.is_restored(&time));
            if let Some(partials) = partials {
                let logged = log
                    .as_ref()
                    .and_then(|log| log.keys_to_log(&time, partials.keys()));
                if !restored {
                    figures.updated = partials.len() as u64;
                }
                for (key, partial) in partials {
                    match totals.get_mut(&key) {
                        Some(total) => merge.merge(total, partial),
                        None => {
                            if let Some(end) = closes_at(&key) {
                                closing.entry(end).or_default().push(key.clone());
                            }
                            figures.added += 1;
                            totals.insert(key, partial);
                        }
                    }
                }
                if let (Some(log), Some(keys)) = (log.as_mut(), logged) {
                    log.record(&time, keys, &totals);
                }
            }
            let Some(watermark) = watermark else {
                return;
            };
            let mut closed = Vec::new();
            while let Some(entry) = closing.first_entry() {
                if !is_final(*entry.key(), Some(watermark)) {
                    break;
                }
                for key in entry.remove() {
                    if let Some(total) = totals.swap_remove(&key) {
                        closed.push((key, total));
                    }
                }
            }
            figures.removed = closed.len() as u64;
            // Restored keys a watermark closes were written before the restart.
            if restored {
                return;
            }
            // Indices are sorted, not the (wide) entries, so none moves during the sort.
            let mut order: Vec<u32> = (0..closed.len() as u32).collect();
            order.sort_unstable_by(|&a, &b| closed[a as usize].0.cmp(&closed[b as usize].0));
            let mut closed: Vec<Option<(K, A::State)>> = closed.into_iter().map(Some).collect();
            rows.reserve(order.len());
            for i in order {
                let Some((key, total)) = closed[i as usize].take() else {
                    continue;
                };
                if let Some(result) = merge.output(&total) {
                    rows.push(((key, result), time, 1));
                }
            }
        },
    );
    (rows, dropped, figures)
}

/// What an expiring aggregation gives: each key's result changes (or, under [`Emit::Closed`],
/// its final result), how many partial states it dropped as late, and, under
/// [`Emit::Closed`], each worker's [`KeyFigures`] per time (empty otherwise).
pub type Expired<'scope, K, V> = (
    VecCollection<'scope, u64, (K, V), isize>,
    Dropped<'scope>,
    VecCollection<'scope, u64, KeyFigures, isize>,
);

/// How many partial states (each the rows of one key on one worker in one epoch) were
/// dropped as late, per epoch: Spark's `numRowsDroppedByWatermark`, which also counts the
/// stateful operator's input after partial aggregation.
pub type Dropped<'scope> = VecCollection<'scope, u64, u64, isize>;

/// An epoch's partial states waiting for its watermark, with the capabilities to pass them
/// on and to count those dropped.
type Waiting<K, S> = (Capability<u64>, Capability<u64>, Vec<Partial<K, u64, S>>);

/// Spark's late rule for a stateful aggregation: a partial state of epoch `t` is dropped when
/// its key closes (`closes_at`, a window's end) at or before the watermark of the epoch before
/// `t`, since that key's result was final then. A row thus counts in every one of its windows still open, whatever
/// its own time. Partials wait for their epoch's watermark; the counts of those dropped come
/// out of a second output, so the partials kept move on as they are, never copied.
fn drop_late_partials<'scope, K, S>(
    partials: PartialStream<'scope, u64, K, S>,
    maxima: Stream<'scope, u64, Vec<(i64, u64, isize)>>,
    delay: i64,
    closes_at: Rc<ClosesAt<K>>,
    seen: Vec<(i64, u64)>,
) -> (PartialStream<'scope, u64, K, S>, Dropped<'scope>)
where
    K: Clone + 'static,
    S: Clone + 'static,
{
    use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
    let mut builder = OperatorBuilder::new("DropLatePartials".to_owned(), partials.scope());
    let mut input = builder.new_input(partials, Pipeline);
    let mut maxima_input = builder.new_input(maxima, Pipeline);
    let (mut kept_output, kept) = builder.new_output::<Vec<Partial<K, u64, S>>>();
    let (mut dropped_output, dropped) = builder.new_output::<Vec<(u64, u64, isize)>>();
    builder.build(move |_initial| {
        let mut clock = crate::watermark::WatermarkClock::resumed(seen);
        let mut waiting: BTreeMap<u64, Waiting<K, S>> = BTreeMap::new();
        move |frontiers| {
            let maxima_frontier = &frontiers[1];
            maxima_input.for_each_stamp(|_cap, containers| clock.saw_all(containers));
            input.for_each_stamp(|cap, containers| {
                for container in containers {
                    for partial in container.drain(..) {
                        waiting
                            .entry(partial.1)
                            .or_insert_with_key(|t| (cap.delayed(t, 0), cap.delayed(t, 1), Vec::new()))
                            .2
                            .push(partial);
                    }
                }
            });
            let (mut kept_out, mut dropped_out) = (kept_output.activate(), dropped_output.activate());
            // Epoch `t`'s watermark is known once no maximum of an earlier epoch can arrive.
            while let Some(time) = waiting.keys().next().copied() {
                if maxima_frontier.frontier().iter().any(|f| *f < time) {
                    break;
                }
                let Some((kept_cap, dropped_cap, mut batch)) = waiting.remove(&time) else {
                    break;
                };
                // Spark judges lateness by the previous epoch's watermark.
                let (watermark, _) = clock.watermarks_of(time, delay);
                let before = batch.len();
                batch.retain(|partial| !closes_at(&partial.0).is_some_and(|end| is_final(end, watermark)));
                let dropped = (before - batch.len()) as u64;
                kept_out.give(&kept_cap, &mut batch);
                if dropped > 0 {
                    dropped_out.give(&dropped_cap, &mut vec![(dropped, time, 1)]);
                }
            }
        }
    });
    (kept, dropped.as_collection())
}
