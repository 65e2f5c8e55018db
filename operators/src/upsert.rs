//! `upsert`: a stream of keyed upserts turned into the collection of each key's latest value.
//!
//! A changelog (a table's rows, keyed by a primary key, each new row replacing the key's
//! previous one) does not say what it replaces: the retraction has to be found. This operator
//! keeps one value per key and, once the input is complete through a time, emits `-old +new`
//! for every key whose value changed at that time, so the result is an ordinary collection with
//! at most one `(key, value)` per key that any differential operator (`join`, `reduce`) can
//! consume.
//!
//! Several upserts of one key at one time are resolved by an explicit `order` that travels with
//! each upsert (for example the position at which a source read it): the greatest order wins,
//! and among equal orders the greatest value, so the result depends on the data alone and never
//! on how records were spread over workers or in what order they arrived. `None` deletes the
//! key. An upsert that leaves a key's value as it was changes nothing.
//!
//! Differential's `arrange_from_upsert` resolves ties by the greatest value only, which cannot
//! express "the row read last wins"; hence this operator. State is one value per live key.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::Capability;
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::StateLog;

/// One upsert: a key, the upsert's order, and the key's new value (`None` deletes).
pub type Upsert<K, O, V> = (K, (O, Option<V>));

/// The winning upsert of each key at one time, with the capability to emit at that time.
type Pending<T, K, O, V> = (Capability<T>, foldhash::HashMap<K, (O, Option<V>)>);

/// Turns `(key, (order, value))` upserts into the collection of each key's latest value:
/// `Some(v)` sets the key's value, `None` deletes the key. Among upserts of one key at one time
/// the greatest `(order, value)` wins. Every record with a positive diff counts as one upsert;
/// records with other diffs are ignored (a changelog only inserts).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::upsert;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut changes, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, changes) = scope.new_collection::<(u32, (u64, Option<char>)), isize>();
///         let (probe, _) = upsert(changes, "Weather")
///             .inspect(move |x| sink.lock().unwrap().push(*x))
///             .probe();
///         (input, probe)
///     });
///     // Two upserts of key 7 at time 0: the one with the greater order (read later) wins.
///     changes.insert((7, (1, Some('r'))));
///     changes.insert((7, (0, Some('c'))));
///     changes.advance_to(1);
///     changes.insert((7, (2, None))); // deletes key 7 at time 1
///     changes.advance_to(2);
///     changes.flush();
///     worker.step_while(|| probe.less_than(changes.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![((7, 'r'), 0, 1), ((7, 'r'), 1, -1)]);
/// ```
pub fn upsert<'scope, T, K, O, V>(
    updates: VecCollection<'scope, T, Upsert<K, O, V>, isize>,
    name: &str,
) -> VecCollection<'scope, T, (K, V), isize>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    O: ExchangeData,
    V: ExchangeData,
{
    upsert_logged(updates, name, None)
}

/// What a durable upsert table logs: each completed time's changed keys with their new value
/// (`None`: deleted), and the first time to log (earlier times hold restored values, which
/// are logged already).
pub type UpsertLog<T, K, V> = (StateLog<T, K, Option<V>>, T);

/// As [`upsert`], with every completed time at or after `log`'s first time handing its changed
/// keys and their new values (`None`: deleted) to `log`'s function before the time's changes
/// go on. A table restored from such a log is fed back as upserts at an earlier time.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::upsert_logged;
///
/// let logged = Arc::new(Mutex::new(Vec::new()));
/// let log = logged.clone();
/// timely::execute_directly(move |worker| {
///     let (mut changes, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, changes) = scope.new_collection::<(u32, (u64, Option<char>)), isize>();
///         let log = Box::new(move |time: &u64, changed: Vec<(u32, Option<char>)>| {
///             log.lock().unwrap().push((*time, changed))
///         });
///         let (probe, _) = upsert_logged(changes, "Weather", Some((log, 1))).probe();
///         (input, probe)
///     });
///     changes.insert((7, (0, Some('r')))); // time 0: restored, not logged again
///     changes.advance_to(1);
///     changes.insert((7, (1, None)));
///     changes.insert((8, (2, Some('s'))));
///     changes.advance_to(2);
///     changes.flush();
///     worker.step_while(|| probe.less_than(changes.time()));
/// });
/// let mut logged = logged.lock().unwrap().clone();
/// logged.iter_mut().for_each(|(_, changed)| changed.sort());
/// assert_eq!(logged, vec![(1, vec![(7, None), (8, Some('s'))])]);
/// ```
pub fn upsert_logged<'scope, T, K, O, V>(
    updates: VecCollection<'scope, T, Upsert<K, O, V>, isize>,
    name: &str,
    log: Option<UpsertLog<T, K, V>>,
) -> VecCollection<'scope, T, (K, V), isize>
where
    T: Timestamp + TotalOrder,
    K: ExchangeData + Hash,
    O: ExchangeData,
    V: ExchangeData,
{
    let by_key = Exchange::new(|((key, _), _, _): &(Upsert<K, O, V>, T, isize)| key.hashed());
    updates
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<((K, V), T, isize)>>, _, _, _>(
            by_key,
            name,
            move |_initial, _info| {
                let mut log = log;
                // Each live key's current value.
                let mut current: foldhash::HashMap<K, V> = Default::default();
                let mut pending: BTreeMap<T, Pending<T, K, O, V>> = BTreeMap::new();
                move |(input, frontier), output| {
                    let port = output.output_index();
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for ((key, candidate), time, diff) in container.drain(..) {
                                if diff <= 0 {
                                    continue;
                                }
                                let (_, winners) = pending
                                    .entry(time)
                                    .or_insert_with_key(|t| (cap.delayed(t, port), Default::default()));
                                match winners.get_mut(&key) {
                                    Some(best) if *best >= candidate => {}
                                    Some(best) => *best = candidate,
                                    None => {
                                        winners.insert(key, candidate);
                                    }
                                }
                            }
                        }
                    });
                    // Times are applied in order, each once the input is complete through it.
                    while let Some(time) = pending.keys().next().cloned() {
                        if frontier.less_equal(&time) {
                            break;
                        }
                        let Some((cap, winners)) = pending.remove(&time) else {
                            break;
                        };
                        let logging = log.as_ref().is_some_and(|(_, first)| time >= *first);
                        let mut changed = Vec::new();
                        let mut session = output.session(&cap);
                        for (key, (_, value)) in winners {
                            let old = match value {
                                Some(new) => {
                                    if current.get(&key) == Some(&new) {
                                        continue;
                                    }
                                    session.give(((key.clone(), new.clone()), time.clone(), 1));
                                    if logging {
                                        changed.push((key.clone(), Some(new.clone())));
                                    }
                                    current.insert(key.clone(), new)
                                }
                                None => {
                                    let old = current.remove(&key);
                                    if logging && old.is_some() {
                                        changed.push((key.clone(), None));
                                    }
                                    old
                                }
                            };
                            if let Some(old) = old {
                                session.give(((key, old), time.clone(), -1));
                            }
                        }
                        drop(session);
                        // Logged before `cap` drops: a probe past the time means it is logged.
                        if let (Some((log, _)), false) = (log.as_mut(), changed.is_empty()) {
                            log(&time, changed);
                        }
                    }
                }
            },
        )
        .as_collection()
}
