//! The append-only aggregate that forgets a key once the watermark has closed it.

use std::hash::Hash;

use differential_dataflow::{AsCollection, Data, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;

use super::stages::{fold_locally, merge_logged, Logged, Map, Partial, Pending};
use super::{Aggregation, Durable, PartialStates};
use crate::watermark::is_final;

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
    /// Greatest event times of epochs before this run, `(max, epoch)`, as a restarted query
    /// knows them from its checkpoint: the watermark goes on from them.
    pub seen: Vec<(i64, u64)>,
}

/// As [`aggregate_append_only_into`](super::aggregate_append_only_into), forgetting each key's state once the watermark has
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
///         let expiry = Expiry { maxima, delay: 0, closes_at: Box::new(|_key: &char| Some(10)), seen: Vec::new() };
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
) -> VecCollection<'scope, u64, (K, A::Output), isize>
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
) -> VecCollection<'scope, u64, (K, A::Output), isize>
where
    D: Data,
    K: ExchangeData + Hash,
    A: Aggregation,
    F: FnMut(D, isize, &mut PartialStates<K, A::State>) + 'static,
{
    use timely::dataflow::operators::vec::Broadcast;
    use timely::dataflow::operators::Concat;
    let mut partials = fold_locally::<_, _, _, A, _>(records.inner, &format!("{name}: fold locally"), fold);
    let mut log = None;
    if let Some(durable) = durable {
        if let Some(restored) = durable.restored {
            partials = partials.concat(restored);
        }
        log = Some(Logged {
            log: durable.log,
            first_new: durable.first_new,
            quiet_restore: durable.quiet_restore,
        });
    }
    let seen = expiry.seen;
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
                for (max, epoch) in seen {
                    clock.saw(max, epoch);
                }
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
                            totals.retain(|key, _| {
                                closes_at(key).is_none_or(|end| !is_final(end, Some(watermark)))
                            });
                        }
                        let mut session = output.session(&cap);
                        merge_logged(&agg, &mut totals, partials, &time, log.as_mut(), &mut |update| {
                            session.give(update)
                        });
                    }
                }
            },
        )
        .as_collection()
}
