//! `logged_collection`: a collection whose changes are logged as they pass, and which starts
//! from a restored copy of itself.
//!
//! Differential's `join` keeps each input arranged: its state *is* its inputs. An input made
//! of stream records alone cannot be read again after a restart (its sources resume after what
//! they had given), so its accumulated contents must be kept elsewhere. This operator hands
//! each completed time's consolidated changes to a log, and on a restart emits the restored
//! contents at a time before any new record, where the arrangement downstream takes them in.
//! The log holds `(record, diff)` pairs: summing them over the times gives the collection, so
//! what a restore reads is the size of the collection, never of the history that built it.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Capability, Concat};
use timely::order::TotalOrder;
use timely::progress::Timestamp;

use crate::aggregate::PartialStream;
use crate::StateLog;

/// Each pending time's records, and the capability that keeps the time open until they are
/// logged.
type Pending<T, D> = BTreeMap<T, (Capability<T>, Vec<(D, isize)>)>;

/// Passes `collection` through, each time's changes consolidated, adding `restored` (`(record, time, count)`, on any
/// worker) in front of it; once a time at or after `first_new` is complete, hands its
/// consolidated changes on this worker to `log`, then passes them on. A time's changes go
/// on only once the log has taken them, so a probe past the time means they are logged. Records before `first_new` are the restored contents' time: whatever else
/// arrives there is dropped, since the restored contents stand for it.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use timely::dataflow::operators::ToStream;
/// use tidewater_operators::logged_collection;
///
/// let logged = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let (log, sink) = (logged.clone(), seen.clone());
/// timely::execute_directly(move |worker| {
///     let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, records) = scope.new_collection::<char, isize>();
///         // Before the restart the collection held 'a' twice; new records come at time 1.
///         let restored = vec![('a', 0u64, 2isize)].to_stream(scope);
///         let log = Box::new(move |time: &u64, changes: Vec<(char, isize)>| {
///             log.lock().unwrap().push((*time, changes))
///         });
///         let kept = logged_collection(records, restored, log, 1);
///         let (probe, _) = kept.inspect(move |u| sink.lock().unwrap().push(*u)).probe();
///         (input, probe)
///     });
///     input.advance_to(1);
///     input.insert('b');
///     input.insert('b');
///     input.remove('a');
///     input.advance_to(2);
///     input.flush();
///     worker.step_while(|| probe.less_than(input.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![('a', 0, 2), ('a', 1, -1), ('b', 1, 2)]);
/// // Time 1's changes, consolidated; the restored contents are not logged again.
/// assert_eq!(*logged.lock().unwrap(), vec![(1, vec![('a', -1), ('b', 2)])]);
/// ```
pub fn logged_collection<'scope, T, D>(
    collection: VecCollection<'scope, T, D, isize>,
    restored: PartialStream<'scope, T, D, isize>,
    mut log: StateLog<T, D, isize>,
    first_new: T,
) -> VecCollection<'scope, T, D, isize>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData + Hash + Ord,
{
    let passed = collection
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<(D, T, isize)>>, _, _, _>(
            Pipeline,
            "LoggedCollection",
            move |_initial, _info| {
                let mut pending: Pending<T, D> = BTreeMap::new();
                move |(input, frontier), output| {
                    let port = output.output_index();
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for (record, time, diff) in container.drain(..) {
                                // The restored contents stand for everything before `first_new`.
                                if time < first_new {
                                    continue;
                                }
                                pending
                                    .entry(time)
                                    .or_insert_with_key(|t| (cap.delayed(t, port), Vec::new()))
                                    .1
                                    .push((record, diff));
                            }
                        }
                    });
                    while let Some(earliest) = pending.first_entry() {
                        if frontier.less_equal(earliest.key()) {
                            break;
                        }
                        let (cap, mut changes) = earliest.remove();
                        consolidate(&mut changes);
                        if changes.is_empty() {
                            continue;
                        }
                        // Logged before the time's changes go on: a probe past the time
                        // means they are in the log.
                        log(cap.time(), changes.clone());
                        let time = cap.time().clone();
                        output.session(&cap).give_iterator(
                            changes
                                .into_iter()
                                .map(|(record, diff)| (record, time.clone(), diff)),
                        );
                    }
                }
            },
        );
    passed.concat(restored).as_collection()
}

/// Sorts `changes` and sums the diffs of equal records, dropping those that cancel.
fn consolidate<D: Ord>(changes: &mut Vec<(D, isize)>) {
    changes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(D, isize)> = Vec::with_capacity(changes.len());
    for (record, diff) in changes.drain(..) {
        match merged.last_mut() {
            Some((last, total)) if *last == record => *total += diff,
            _ => merged.push((record, diff)),
        }
    }
    merged.retain(|(_, diff)| *diff != 0);
    *changes = merged;
}

#[cfg(test)]
mod tests {
    use super::consolidate;

    #[test]
    fn equal_records_are_summed_and_cancelled_ones_dropped() {
        let mut changes = vec![('b', 1), ('a', 2), ('b', -1), ('c', 1), ('a', 1)];
        consolidate(&mut changes);
        assert_eq!(changes, vec![('a', 3), ('c', 1)]);
    }
}
