//! `epoch_reduce`: each time's values of a key folded into one, for inputs that only insert.
//!
//! Differential's `reduce` maintains a result over the whole accumulated input, which costs an
//! arrangement of every input record. A per-batch aggregation (Spark Streaming's
//! `reduceByKey`: each batch's values of a key folded, the previous batches forgotten) needs
//! none of that when the input is the batch's insertions: fold the records of each time in a
//! hash map and emit one `(key, value)` per key at that time.
//!
//! The fold runs twice: first on each worker over its own records (no exchange), then, after
//! exchanging the partial values by key hash, over the partials. The exchange therefore carries
//! at most one record per key and worker, not one per input record.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::dataflow::Stream;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

/// A timely stream of keyed differential updates.
type Updates<'scope, T, K, V> = Stream<'scope, T, Vec<((K, V), T, isize)>>;

/// The partial values of one time, with the capability to emit them at it.
type Partials<T, K, V> = (Capability<T>, foldhash::HashMap<K, Option<V>>);

/// Folds, for every time, the values of each key with `combine` (associative and
/// commutative), and emits `(key, folded)` once per key at that time with diff 1. The input
/// must only insert: a record with diff `n > 0` counts `n` times; others are ignored.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::epoch_reduce;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut words, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, words) = scope.new_collection::<(String, u64), isize>();
///         let counts = epoch_reduce(words, "WordsPerBatch", |a, b| a + b);
///         let (probe, _) = counts.inspect(move |x| sink.lock().unwrap().push(x.clone())).probe();
///         (input, probe)
///     });
///     words.update(("a".to_string(), 1), 2);
///     words.insert(("b".to_string(), 1));
///     words.advance_to(1);
///     words.insert(("a".to_string(), 1));
///     words.advance_to(2);
///     words.flush();
///     worker.step_while(|| probe.less_than(words.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
/// // Each time on its own: batch 1 does not add to batch 0.
/// assert_eq!(seen, vec![(("a".to_string(), 2), 0, 1), (("b".to_string(), 1), 0, 1), (("a".to_string(), 1), 1, 1)]);
/// ```
pub fn epoch_reduce<'scope, T, K, V, F>(
    input: VecCollection<'scope, T, (K, V), isize>,
    name: &str,
    combine: F,
) -> VecCollection<'scope, T, (K, V), isize>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    V: ExchangeData,
    F: Fn(V, V) -> V + Clone + 'static,
{
    let local = fold_by_time(
        input.inner,
        Pipeline,
        &format!("{name}: combine"),
        combine.clone(),
    );
    let by_key = Exchange::new(|((key, _), _, _): &((K, V), T, isize)| key.hashed());
    fold_by_time(local, by_key, name, combine).as_collection()
}

/// One fold: the records of each time are folded per key as they arrive over `pact`, and
/// emitted once the input is complete through the time.
fn fold_by_time<'scope, T, K, V, F, P>(
    input: Updates<'scope, T, K, V>,
    pact: P,
    name: &str,
    combine: F,
) -> Updates<'scope, T, K, V>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    V: ExchangeData,
    F: Fn(V, V) -> V + 'static,
    P: ParallelizationContract<T, Vec<((K, V), T, isize)>>,
{
    input.unary_frontier::<CapacityContainerBuilder<Vec<((K, V), T, isize)>>, _, _, _>(
        pact,
        name,
        move |_initial, _info| {
            let mut pending: BTreeMap<T, Partials<T, K, V>> = BTreeMap::new();
            move |(records, frontier), output| {
                let port = output.output_index();
                records.for_each_stamp(|cap, containers| {
                    for container in containers {
                        for ((key, value), time, diff) in container.drain(..) {
                            if diff <= 0 {
                                continue;
                            }
                            let (_, partials) = pending
                                .entry(time)
                                .or_insert_with_key(|t| (cap.delayed(t, port), Default::default()));
                            let slot = partials.entry(key).or_insert(None);
                            let mut folded = slot.take();
                            for _ in 1..diff {
                                folded = Some(match folded {
                                    Some(current) => combine(current, value.clone()),
                                    None => value.clone(),
                                });
                            }
                            // The last (usually the only) copy is moved, not cloned.
                            *slot = Some(match folded {
                                Some(current) => combine(current, value),
                                None => value,
                            });
                        }
                    }
                });
                while let Some(time) = pending.keys().next().cloned() {
                    if frontier.less_equal(&time) {
                        break;
                    }
                    let Some((cap, partials)) = pending.remove(&time) else {
                        break;
                    };
                    let mut session = output.session(&cap);
                    for (key, value) in partials {
                        if let Some(value) = value {
                            session.give(((key, value), time.clone(), 1));
                        }
                    }
                }
            }
        },
    )
}
