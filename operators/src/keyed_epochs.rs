//! `keyed_epochs`: per-key state carried from one epoch to the next.
//!
//! Differential's operators compute each time's output from the accumulated input at that
//! time. Some computations are instead a *recurrence* over epochs: the state of a key after
//! epoch `e` is a function of its state after `e - 1` and of what epoch `e` brought (Spark's
//! `updateStateByKey` and `mapWithState`, or a windowed sum kept up to date with an inverse
//! function). This operator runs such a recurrence: it holds each key's state, visits the keys
//! epoch by epoch in order once the input is complete through the epoch, and lets the caller's
//! logic read the epoch's values, update the state, and emit output at the epoch.
//!
//! The input is exchanged by key hash, so a key's state lives on one worker, and the initial
//! states travel through the same exchange (they go wherever their key's records go).
//!
//! Times are epochs (`u64`), and every epoch from 0 on is visited: an epoch without input still
//! runs the keys that ask for it (`visit_idle`), which is how timeouts and "called every batch"
//! semantics work.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, Data, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::ToStream;

/// What the logic of [`keyed_epochs`] is handed for one epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochInput {
    /// The epoch's own changes, consolidated: `(value, diff)`, values sorted.
    Changes,
    /// The accumulated input as of the epoch, consolidated: `(value, multiplicity)`.
    Contents,
}

/// How [`keyed_epochs`] runs.
#[derive(Clone, Copy, Debug)]
pub struct EpochSchedule {
    /// Whether the logic sees each epoch's changes or the accumulated input.
    pub input: EpochInput,
    /// Also visit keys that have state but nothing in the epoch's input.
    pub visit_idle: bool,
    /// Visit only epochs `e` with `(e + 1) % every == 0` (1: every epoch). Changes of the
    /// epochs in between are folded into the next visited one.
    pub every: u64,
    /// The first epoch visited (0 for a fresh run). A restarted run passes the epoch it
    /// resumes at, with the states as of the epoch before as `initial`: the earlier epochs
    /// are not visited again. Their changes still count towards the accumulated input
    /// ([`EpochInput::Contents`]); with [`EpochInput::Changes`] they are dropped, the states
    /// having taken them in already.
    pub first: u64,
}

/// Runs `logic(epoch, key, values, state, out)` for every key with input in an epoch (and, with
/// `visit_idle`, every key with state), epoch after epoch. `values` are `(value, diff)` pairs as
/// [`EpochSchedule::input`] says; `state` is `None` for a key without state, and setting it to
/// `None` forgets the key. Whatever the logic pushes to `out` as `(output, diff)` is emitted at
/// the epoch. `initial` states are installed before epoch 0 (each worker may pass the same
/// list: only worker 0's copy is used).
///
/// # Examples
///
/// A running sum per key, emitted as `-old, +new` changes:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::keyed_epochs::{keyed_epochs, EpochInput, EpochSchedule};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, records) = scope.new_collection::<(char, i64), isize>();
///         let schedule = EpochSchedule { input: EpochInput::Changes, visit_idle: false, every: 1, first: 0 };
///         let sums = keyed_epochs(records, Vec::new(), "Sum", schedule, |_e, key, values, state: &mut Option<i64>, out| {
///             let old = *state;
///             let new = old.unwrap_or(0) + values.iter().map(|(v, n)| v * *n as i64).sum::<i64>();
///             if let Some(old) = old { out.push(((*key, old), -1)); }
///             out.push(((*key, new), 1));
///             *state = Some(new);
///         });
///         let (probe, _) = sums.inspect(move |x| sink.lock().unwrap().push(x.clone())).probe();
///         (input, probe)
///     });
///     input.insert(('a', 1));
///     input.insert(('b', 2));
///     input.advance_to(1);
///     input.insert(('a', 5));
///     input.advance_to(2);
///     input.flush();
///     worker.step_while(|| probe.less_than(input.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)));
/// assert_eq!(seen, vec![
///     (('a', 1), 0, 1), (('b', 2), 0, 1),      // epoch 0
///     (('a', 1), 1, -1), (('a', 6), 1, 1),     // epoch 1: only `a` changed
/// ]);
/// ```
pub fn keyed_epochs<'scope, K, V, S, O, F>(
    input: VecCollection<'scope, u64, (K, V), isize>,
    initial: Vec<(K, S)>,
    name: &str,
    schedule: EpochSchedule,
    mut logic: F,
) -> VecCollection<'scope, u64, O, isize>
where
    K: ExchangeData + Hash,
    V: ExchangeData,
    S: ExchangeData,
    O: Data,
    F: FnMut(u64, &K, &[(V, isize)], &mut Option<S>, &mut Vec<(O, isize)>) + 'static,
{
    let every = schedule.every.max(1);
    let first_epoch = schedule.first;
    let scope = input.scope();
    // Only worker 0 contributes the initial states; the exchange takes each to its key's owner.
    let initial = if scope.index() == 0 { initial } else { Vec::new() };
    let initial = initial.to_stream(scope);
    let records_by_key = Exchange::new(|((key, _), _, _): &((K, V), u64, isize)| key.hashed());
    let initial_by_key = Exchange::new(|(key, _): &(K, S)| key.hashed());
    input
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(O, u64, isize)>>, _, _, _, _>(
            initial,
            records_by_key,
            initial_by_key,
            name,
            move |first, _info| {
                // The one capability, always at the next epoch to visit.
                let mut capability = Some(first);
                let mut next: u64 = first_epoch;
                // Contents from before the first visit that are not consolidated yet.
                let mut unsettled = false;
                // Every entry holds a state: one the logic clears is removed at once. The
                // `Option` lets the logic update a state in place, with one lookup.
                let mut states: foldhash::HashMap<K, Option<S>> = Default::default();
                // Accumulated input per key, kept only for `EpochInput::Contents`.
                let mut contents: foldhash::HashMap<K, Vec<(V, isize)>> = Default::default();
                let mut pending: BTreeMap<u64, Vec<(K, V, isize)>> = BTreeMap::new();
                let mut out = Vec::new();
                move |(records, records_frontier), (initial, initial_frontier), output| {
                    records.for_each_stamp(|_cap, containers| {
                        for container in containers {
                            for ((key, value), time, diff) in container.drain(..) {
                                if time >= first_epoch {
                                    pending.entry(time).or_default().push((key, value, diff));
                                } else if schedule.input == EpochInput::Contents {
                                    // Before the first visit: only the accumulation counts.
                                    contents.entry(key).or_default().push((value, diff));
                                    unsettled = true;
                                }
                            }
                        }
                    });
                    initial.for_each_stamp(|_cap, containers| {
                        for container in containers {
                            states.extend(container.drain(..).map(|(key, state)| (key, Some(state))));
                        }
                    });
                    // Initial states come first.
                    if !initial_frontier.is_empty() {
                        return;
                    }
                    if unsettled {
                        // What epochs before the first visit brought, consolidated once.
                        for values in contents.values_mut() {
                            consolidate(values);
                        }
                        contents.retain(|_, values| !values.is_empty());
                        unsettled = false;
                    }
                    let frontier = records_frontier.frontier();
                    let closed = frontier.is_empty();
                    loop {
                        let Some(cap) = capability.as_mut() else {
                            return;
                        };
                        let epoch_complete = !frontier.iter().any(|t| *t <= next);
                        if !epoch_complete {
                            return;
                        }
                        if closed && pending.is_empty() {
                            // Nothing can arrive any more: visiting further epochs would only
                            // repeat idle visits forever.
                            capability = None;
                            return;
                        }
                        let epoch = next;
                        let changes = group_by_key(pending.remove(&epoch).unwrap_or_default());
                        let visit = (epoch + 1).is_multiple_of(every);
                        match schedule.input {
                            EpochInput::Changes => {
                                // Folded into the next visited epoch when this one is skipped.
                                if !visit {
                                    let later = pending.entry(epoch + 1).or_default();
                                    for (key, values) in changes {
                                        later.extend(values.into_iter().map(|(v, d)| (key.clone(), v, d)));
                                    }
                                } else {
                                    visit_keys(
                                        epoch,
                                        changes,
                                        schedule.visit_idle,
                                        &mut states,
                                        &mut logic,
                                        &mut out,
                                    );
                                }
                            }
                            EpochInput::Contents => {
                                for (key, values) in changes {
                                    let entry = contents.entry(key.clone()).or_default();
                                    entry.extend(values);
                                    consolidate(entry);
                                    if entry.is_empty() {
                                        contents.remove(&key);
                                    }
                                }
                                if visit {
                                    let current: Vec<(K, Vec<(V, isize)>)> =
                                        contents.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                                    visit_keys(
                                        epoch,
                                        current,
                                        schedule.visit_idle,
                                        &mut states,
                                        &mut logic,
                                        &mut out,
                                    );
                                }
                            }
                        }
                        if !out.is_empty() {
                            let mut session = output.session(&*cap);
                            for (o, diff) in out.drain(..) {
                                session.give((o, epoch, diff));
                            }
                        }
                        next = epoch + 1;
                        cap.downgrade(&next);
                    }
                }
            },
        )
        .as_collection()
}

/// Calls the logic for the keys with values, then (with `visit_idle`) for the other keys with
/// state, and forgets the keys whose state the logic cleared.
fn visit_keys<K, V, S, O, F>(
    epoch: u64,
    mut with_values: Vec<(K, Vec<(V, isize)>)>,
    visit_idle: bool,
    states: &mut foldhash::HashMap<K, Option<S>>,
    logic: &mut F,
    out: &mut Vec<(O, isize)>,
) where
    K: Hash + Eq + Clone,
    F: FnMut(u64, &K, &[(V, isize)], &mut Option<S>, &mut Vec<(O, isize)>),
{
    if visit_idle {
        let busy: foldhash::HashSet<&K> = with_values.iter().map(|(k, _)| k).collect();
        let idle: Vec<K> = states.keys().filter(|k| !busy.contains(k)).cloned().collect();
        with_values.extend(idle.into_iter().map(|k| (k, Vec::new())));
    }
    for (key, values) in with_values {
        match states.get_mut(&key) {
            Some(state) => {
                logic(epoch, &key, &values, state, out);
                if state.is_none() {
                    states.remove(&key);
                }
            }
            None => {
                let mut state = None;
                logic(epoch, &key, &values, &mut state, out);
                if state.is_some() {
                    states.insert(key, state);
                }
            }
        }
    }
}

/// Groups `(key, value, diff)` updates by key, each key's values consolidated (sorted). Keys
/// come in hash order: which key the logic sees first never shows in the output, a set.
fn group_by_key<K: Hash + Eq, V: Ord>(updates: Vec<(K, V, isize)>) -> Vec<(K, Vec<(V, isize)>)> {
    let mut grouped: foldhash::HashMap<K, Vec<(V, isize)>> = Default::default();
    for (key, value, diff) in updates {
        // A key's records often repeat one value (a word's `1`): a repeat adds to the last
        // count instead of growing the list that `consolidate` would fold back.
        let values = grouped.entry(key).or_default();
        match values.last_mut() {
            Some((last, count)) if *last == value => *count += diff,
            _ => values.push((value, diff)),
        }
    }
    grouped
        .into_iter()
        .filter_map(|(key, mut values)| {
            if values.len() > 1 {
                consolidate(&mut values);
            } else {
                values.retain(|(_, d)| *d != 0);
            }
            (!values.is_empty()).then_some((key, values))
        })
        .collect()
}

/// Sorts and sums equal values, dropping those whose multiplicity is zero.
fn consolidate<V: Ord>(values: &mut Vec<(V, isize)>) {
    values.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(V, isize)> = Vec::with_capacity(values.len());
    for (value, diff) in values.drain(..) {
        match merged.last_mut() {
            Some((v, d)) if *v == value => *d += diff,
            _ => merged.push((value, diff)),
        }
    }
    merged.retain(|(_, d)| *d != 0);
    *values = merged;
}

#[cfg(test)]
mod tests {
    use super::{consolidate, group_by_key, keyed_epochs, EpochInput, EpochSchedule};
    use differential_dataflow::input::Input;
    use std::sync::{Arc, Mutex};

    /// A running sum per key that starts at epoch `first` from `initial`, over `(key, value)`
    /// records inserted at the epochs given; returns what it emitted, sorted.
    fn resumed_sum(
        input: EpochInput,
        first: u64,
        initial: Vec<(char, i64)>,
    ) -> Vec<((char, i64), u64, isize)> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        timely::execute_directly(move |worker| {
            let (mut records, probe) = worker.dataflow::<u64, _, _>(|scope| {
                let (handle, records) = scope.new_collection::<(char, i64), isize>();
                let schedule = EpochSchedule {
                    input,
                    visit_idle: false,
                    every: 1,
                    first,
                };
                let sums = keyed_epochs(
                    records,
                    initial.clone(),
                    "Sum",
                    schedule,
                    move |_e, key, values, state: &mut Option<i64>, out| {
                        let total: i64 = values.iter().map(|(v, n)| v * *n as i64).sum();
                        let new = match input {
                            EpochInput::Changes => state.unwrap_or(0) + total,
                            EpochInput::Contents => total,
                        };
                        out.push(((*key, new), 1));
                        *state = Some(new);
                    },
                );
                let (probe, _) = sums.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
                (handle, probe)
            });
            // Epochs 0 and 1 belong to an earlier run: records there are what it held.
            records.insert(('a', 1));
            records.advance_to(1);
            records.insert(('a', 2));
            records.advance_to(2);
            records.insert(('a', 4));
            records.advance_to(3);
            records.flush();
            worker.step_while(|| probe.less_than(records.time()));
        });
        let mut seen = seen.lock().unwrap().clone();
        seen.sort();
        seen
    }

    #[test]
    fn a_resumed_run_visits_from_its_first_epoch() {
        // Changes: the restored state already holds epochs 0 and 1; only epoch 2's change counts.
        assert_eq!(
            resumed_sum(EpochInput::Changes, 2, vec![('a', 3)]),
            vec![(('a', 7), 2, 1)]
        );
        // Contents: the earlier epochs still count towards the accumulated input.
        assert_eq!(
            resumed_sum(EpochInput::Contents, 2, Vec::new()),
            vec![(('a', 7), 2, 1)]
        );
        // A first run visits every epoch.
        assert_eq!(
            resumed_sum(EpochInput::Changes, 0, Vec::new()),
            vec![(('a', 1), 0, 1), (('a', 3), 1, 1), (('a', 7), 2, 1)]
        );
    }

    #[test]
    fn grouping_consolidates_and_cancels_values() {
        let grouped = group_by_key(vec![
            ("b", 1, 1),
            ("a", 2, 1),
            ("b", 1, -1),
            ("a", 1, 2),
            ("a", 2, 1),
        ]);
        assert_eq!(grouped, vec![("a", vec![(1, 2), (2, 2)])]);
        let mut values = vec![(3, 1), (1, 1), (3, -1), (1, 1)];
        consolidate(&mut values);
        assert_eq!(values, vec![(1, 2)]);
    }
}
