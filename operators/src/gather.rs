//! Gathering a collection whose workers each produce every time's updates in order onto worker 0,
//! keeping that order.
//!
//! A query's output ends at worker 0, where the sink writes it sorted. When each worker already
//! sorts its own share (the aggregation's changed keys, say), sorting everything again on worker
//! 0 repeats, serially, work that was done in parallel: [`gather_sorted`] instead keeps a time's
//! updates in their order of arrival, where each container is a piece of one worker's sorted
//! run, and merges the runs, so worker 0 only pays for a merge.

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use timely::communication::Push;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::DistributorPact;
use timely::dataflow::channels::pushers::exchange::Distributor;
use timely::dataflow::channels::Message;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::{Capability, InputCapability};
use timely::order::TotalOrder;
use timely::progress::Stamp;
use timely::progress::Timestamp;

/// One update: `(data, time, diff)`.
type Update<D, T> = (D, T, isize);

/// Sends every container to worker 0 as it is: what timely's `Exchange` with a route of
/// `|_| 0` does, without the walk that copies each record into a buffer for its target (about
/// 60 instructions a record, on every worker, for records that all go to one place).
#[derive(Clone, Copy, Debug, Default)]
pub struct WholeToLeader;

impl<C: Default> Distributor<C> for WholeToLeader {
    fn partition<T: Clone, P: Push<Message<T, C>>>(
        &mut self,
        container: &mut C,
        stamp: &Stamp<T>,
        pushers: &mut [P],
    ) {
        if let Some(leader) = pushers.first_mut() {
            Message::push_at(container, stamp.clone(), leader);
        }
    }

    fn flush<T: Clone, P: Push<Message<T, C>>>(&mut self, _stamp: &Stamp<T>, _pushers: &mut [P]) {
        // Nothing is held back: every container went on whole.
    }
}

/// The parallelization contract that moves every container, whole, to worker 0 (see
/// [`WholeToLeader`]): for an operator whose input must all meet on one worker, such as a
/// query's output on its way to the sink.
pub fn to_leader() -> DistributorPact<fn(usize) -> WholeToLeader> {
    DistributorPact(|_peers| WholeToLeader)
}

/// Moves every update of `updates` to worker 0 and emits each time's updates there, once the
/// input frontier has passed that time, sorted by data, ties kept in their order of arrival.
///
/// Cheapest when every worker sends each time's updates sorted by data: they then form one
/// sorted run per worker, and the sort (a stable merge sort, which finds such runs) only merges
/// them. Any input order gives the same, sorted, result.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::gather_sorted;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute(timely::Config::process(2), move |worker| {
///     let sink = sink.clone();
///     let index = worker.index() as u64;
///     let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, numbers) = scope.new_collection::<u64, isize>();
///         let (probe, _) = gather_sorted(numbers, "Gather")
///             .inspect(move |u| sink.lock().unwrap().push((index, u.0)))
///             .probe();
///         (input, probe)
///     });
///     for n in [5, 1, 3] {
///         input.insert(n * 10 + index);
///     }
///     input.advance_to(1);
///     input.flush();
///     worker.step_while(|| probe.less_than(input.time()));
/// })
/// .unwrap();
/// let seen = seen.lock().unwrap().clone();
/// assert_eq!(seen, vec![(0, 10), (0, 11), (0, 30), (0, 31), (0, 50), (0, 51)]);
/// ```
pub fn gather_sorted<'scope, T, D>(
    updates: VecCollection<'scope, T, D, isize>,
    name: &str,
) -> VecCollection<'scope, T, D, isize>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData,
{
    gather_sorted_map(updates, name, |data| data)
}

/// As [`gather_sorted`], with `f` applied to each update's data as it leaves, in the same
/// operator: a `map` after the gather would copy every update once more, on worker 0, into a
/// container of its own. The order is that of the data before `f`.
pub fn gather_sorted_map<'scope, T, D, D2>(
    updates: VecCollection<'scope, T, D, isize>,
    name: &str,
    mut f: impl FnMut(D) -> D2 + 'static,
) -> VecCollection<'scope, T, D2, isize>
where
    T: Timestamp + TotalOrder,
    D: ExchangeData,
    D2: differential_dataflow::Data,
{
    updates
        .inner
        .unary_frontier::<CapacityContainerBuilder<Vec<_>>, _, _, _>(to_leader(), name, move |_initial, _| {
            // Per pending time, its updates in order of arrival, as the containers that brought
            // them: each comes from one worker and keeps that worker's order, so they are sorted
            // runs one after another. Kept whole, they are copied once, into a vector of the
            // time's exact size, rather than pushed one by one into one that grows.
            let mut pending = Runs::<T, Update<D, T>>::new();
            move |(input, frontier), output| {
                let port = output.output_index();
                input.for_each_stamp(|cap, containers| {
                    for container in containers {
                        keep_by_time(&mut pending, &cap, port, container);
                    }
                });
                while let Some(earliest) = pending.first_entry() {
                    if frontier.less_equal(earliest.key()) {
                        break;
                    }
                    let (cap, runs) = earliest.remove();
                    // One container (one worker's run, whole) is the time's updates as they are.
                    let mut updates = match <[_; 1]>::try_from(runs) {
                        Ok([run]) => run,
                        Err(runs) => {
                            let mut updates = Vec::with_capacity(runs.iter().map(Vec::len).sum());
                            runs.into_iter().for_each(|run| updates.extend(run));
                            updates
                        }
                    };
                    merge_runs(&mut updates);
                    // Handed over as one container, not pushed update by update.
                    let mut mapped: Vec<_> = updates
                        .into_iter()
                        .map(|(data, time, diff)| (f(data), time, diff))
                        .collect();
                    output.session(&cap).give_container(&mut mapped);
                }
            }
        })
        .as_collection()
}

/// Per pending time, its capability and the containers of updates that came for it, whole.
pub(crate) type Runs<T, U> = BTreeMap<T, (Capability<T>, Vec<Vec<U>>)>;

/// Keeps a container of `(data, time, diff)` updates for the times of its updates: moved whole
/// when all are at one time (as a worker sends a time's sorted run), one by one otherwise.
pub(crate) fn keep_by_time<T: Timestamp, D, R>(
    pending: &mut Runs<T, (D, T, R)>,
    cap: &InputCapability<T>,
    port: usize,
    container: &mut Vec<(D, T, R)>,
) {
    let Some(time) = container.first().map(|update| update.1.clone()) else {
        return;
    };
    if container.iter().all(|update| update.1 == time) {
        pending
            .entry(time)
            .or_insert_with_key(|time| (cap.delayed(time, port), Vec::new()))
            .1
            .push(std::mem::take(container));
        return;
    }
    for update in container.drain(..) {
        let runs = &mut pending
            .entry(update.1.clone())
            .or_insert_with_key(|time| (cap.delayed(time, port), Vec::new()))
            .1;
        match runs.last_mut() {
            Some(run) => run.push(update),
            None => runs.push(vec![update]),
        }
    }
}

/// Sorts `updates` by data: a stable sort, which finds the sorted runs they are made of and
/// merges them instead of sorting them again.
fn merge_runs<D: Ord, T>(updates: &mut [Update<D, T>]) {
    updates.sort_by(|a, b| a.0.cmp(&b.0));
}

#[cfg(test)]
mod tests {
    use super::merge_runs;

    #[test]
    fn merging_sorts_whatever_the_runs() {
        let mut updates = vec![(1, 0, 1), (4, 0, -1), (9, 0, 1), (0, 0, 1), (4, 0, 1), (2, 0, 1)];
        merge_runs(&mut updates);
        let data: Vec<(i32, isize)> = updates.into_iter().map(|(d, _, r)| (d, r)).collect();
        assert_eq!(data, vec![(0, 1), (1, 1), (2, 1), (4, -1), (4, 1), (9, 1)]);
    }
}
