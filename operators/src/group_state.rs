//! `groups_with_state`: a user's function over each key's rows and a state it keeps per key,
//! as Spark's `groupByKey(..).flatMapGroupsWithState` (and `mapGroupsWithState`, its case of
//! one output per call) runs it.
//!
//! Records are exchanged by key. Once an epoch is complete (and its watermark known), the
//! function is called once per key that has rows in the epoch, with those rows in the order
//! a source read them, and the key's [`GroupState`]. Then every key whose timeout has passed
//! (and that had no rows in the epoch) is called with no rows and
//! [`GroupState::has_timed_out`] true. As in Spark:
//!
//! - a timeout is set anew by each call ([`GroupState::set_timeout_duration`] under
//!   [`Timeout::ProcessingTime`], [`GroupState::set_timeout_timestamp`] under
//!   [`Timeout::EventTime`]); a call that does not set it leaves the key without one;
//! - an event-time timeout fires once the epoch's own watermark has passed it (the timestamp
//!   is below the watermark), a processing-time one once the epoch's batch time has passed
//!   it;
//! - under [`Timeout::EventTime`] a row at or before the previous epoch's watermark is late,
//!   dropped and counted (Spark's two watermarks);
//! - timeouts fire in epochs without rows too: every complete epoch is looked at, so an epoch
//!   the runtime runs only because the watermark moved fires the keys it times out.
//!
//! Keys are handled in the order of their hash and then the key, so what comes out depends on
//! the data alone, whatever the number of workers.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::Hash;
use std::sync::Arc;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Capability, Concat};
use timely::progress::Antichain;

use crate::aggregate::PartialStream;
use crate::watermark::{is_final, WatermarkClock};

/// Which timeouts a key's state may set: Spark's `GroupStateTimeout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// `NoTimeout`: a key is called only when it has rows.
    None,
    /// `ProcessingTimeTimeout`: [`GroupState::set_timeout_duration`], against each epoch's
    /// batch time.
    ProcessingTime,
    /// `EventTimeTimeout`: [`GroupState::set_timeout_timestamp`], against the watermark.
    EventTime,
}

/// Why a timeout could not be set; Spark throws the same cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeoutError {
    /// The query's [`Timeout`] is not the kind this call sets.
    WrongKind {
        /// The query's timeout.
        configured: Timeout,
    },
    /// A negative duration.
    NegativeDuration(i64),
    /// An event-time timeout before the current watermark, which would fire at once.
    BeforeWatermark {
        /// The timestamp asked for, in milliseconds.
        timestamp_ms: i64,
        /// The current watermark, in milliseconds.
        watermark_ms: i64,
    },
}

impl std::fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeoutError::WrongKind { configured } => {
                write!(
                    f,
                    "this timeout cannot be set when the query's timeout is {configured:?}"
                )
            }
            TimeoutError::NegativeDuration(ms) => write!(f, "timeout duration {ms} ms is negative"),
            TimeoutError::BeforeWatermark {
                timestamp_ms,
                watermark_ms,
            } => write!(
                f,
                "timeout timestamp {timestamp_ms} ms is before the current watermark {watermark_ms} ms"
            ),
        }
    }
}

impl std::error::Error for TimeoutError {}

/// A key's state as the user's function sees it in one call: Spark's `GroupState[S]`.
///
/// Times are in milliseconds, as in Spark; event times are kept in microseconds inside.
#[derive(Debug)]
pub struct GroupState<S> {
    value: Option<S>,
    changed: bool,
    timeout: Timeout,
    timeout_at: Option<i64>,
    timed_out: bool,
    watermark: Option<i64>,
    batch_ms: i64,
}

impl<S> GroupState<S> {
    /// Whether the key has a state (Spark's `exists`).
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    /// The key's state, if any (Spark's `getOption`; Spark's `get` throws where this is `None`).
    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Replaces the key's state (Spark's `update`); it is kept for the key's next call.
    pub fn update(&mut self, value: S) {
        self.value = Some(value);
        self.changed = true;
    }

    /// Forgets the key's state (Spark's `remove`), and its timeout with it.
    pub fn remove(&mut self) {
        self.value = None;
        self.changed = true;
        self.timeout_at = None;
    }

    /// Calls the key again with no rows once `duration_ms` of processing time has passed
    /// after this epoch's batch time, unless rows come first (Spark's
    /// `setTimeoutDuration`). Only under [`Timeout::ProcessingTime`].
    pub fn set_timeout_duration(&mut self, duration_ms: i64) -> Result<(), TimeoutError> {
        if self.timeout != Timeout::ProcessingTime {
            return Err(TimeoutError::WrongKind {
                configured: self.timeout,
            });
        }
        if duration_ms < 0 {
            return Err(TimeoutError::NegativeDuration(duration_ms));
        }
        self.timeout_at = Some(self.batch_ms.saturating_add(duration_ms));
        Ok(())
    }

    /// Calls the key again with no rows once the watermark passes `timestamp_ms`, unless
    /// rows come first (Spark's `setTimeoutTimestamp`). Only under [`Timeout::EventTime`],
    /// and not before the current watermark.
    pub fn set_timeout_timestamp(&mut self, timestamp_ms: i64) -> Result<(), TimeoutError> {
        if self.timeout != Timeout::EventTime {
            return Err(TimeoutError::WrongKind {
                configured: self.timeout,
            });
        }
        let micros = timestamp_ms.saturating_mul(1000);
        if let Some(watermark) = self.watermark.filter(|w| micros < *w) {
            return Err(TimeoutError::BeforeWatermark {
                timestamp_ms,
                watermark_ms: watermark.div_euclid(1000),
            });
        }
        self.timeout_at = Some(micros);
        Ok(())
    }

    /// Whether this call is the key's timeout firing, with no rows (Spark's `hasTimedOut`).
    pub fn has_timed_out(&self) -> bool {
        self.timed_out
    }

    /// The epoch's watermark in milliseconds, `None` before any event time (Spark's
    /// `getCurrentWatermarkMs`, which answers -1 then).
    pub fn get_current_watermark_ms(&self) -> Option<i64> {
        self.watermark.map(|w| w.div_euclid(1000))
    }

    /// This call's state with `value` in place of the kept one, unchanged so far: the
    /// engine keeps values serialized and hands the user's function typed ones.
    pub fn with_value<T>(&self, value: Option<T>) -> GroupState<T> {
        GroupState {
            value,
            changed: false,
            timeout: self.timeout,
            timeout_at: self.timeout_at,
            timed_out: self.timed_out,
            watermark: self.watermark,
            batch_ms: self.batch_ms,
        }
    }

    /// Takes back what the user's function did to `typed` (made by
    /// [`with_value`](Self::with_value)): its timeout, and its value converted by `convert`
    /// if the function updated or removed it.
    pub fn absorb<T>(&mut self, typed: GroupState<T>, convert: impl FnOnce(T) -> Option<S>) {
        self.timeout_at = typed.timeout_at;
        if typed.changed {
            self.value = typed.value.and_then(convert);
            self.changed = true;
        }
    }

    /// Whether this call updated or removed the value.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The epoch's batch time in milliseconds (Spark's `getCurrentProcessingTimeMs`).
    pub fn get_current_processing_time_ms(&self) -> i64 {
        self.batch_ms
    }
}

/// One record: its key, its place in the source's order, the record, and its event time
/// (microseconds).
pub type Keyed<K, O, V> = (K, (O, V, Option<i64>));

/// A key's kept state: the user's value and its timeout (microseconds of event time, or
/// milliseconds of processing time).
pub type Kept<S> = (S, Option<i64>);

/// What a stateful function did in an epoch on one worker: Spark's state operator progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StateFigures {
    /// Keys whose state was set (new or changed).
    pub updated: u64,
    /// Keys whose state was removed.
    pub removed: u64,
    /// Change in the number of keys with a state (summed over epochs: the keys held).
    pub total_change: i64,
    /// Late rows dropped.
    pub late: u64,
}

/// The user's function: key, the epoch's rows in read order, the key's state; rows out.
pub type GroupFn<K, V, S, R> = dyn Fn(&K, Vec<V>, &mut GroupState<S>) -> Vec<R> + Send + Sync;

/// Where a stateful function logs each epoch's changed keys (`Some` kept, `None` removed),
/// so a checkpoint can restore them.
pub type StateLog<K, S> = Box<dyn FnMut(&u64, Vec<(K, Option<Kept<S>>)>)>;

/// What [`groups_with_state`] needs besides its records.
pub struct GroupsWithState<'scope, K, V, S, R> {
    /// The function called per key.
    pub function: Arc<GroupFn<K, V, S, R>>,
    /// Which timeouts keys may set.
    pub timeout: Timeout,
    /// Each worker's greatest event time per epoch, under a watermark.
    pub maxima: Option<VecCollection<'scope, u64, i64, isize>>,
    /// The watermark's delay, in microseconds.
    pub delay: i64,
    /// Greatest event times of epochs before this run, `(max, epoch)` (a restart).
    pub seen: Vec<(i64, u64)>,
    /// The batch time of each epoch in milliseconds, for processing-time timeouts; called on
    /// every worker, so it must answer the same for the same epoch everywhere.
    pub batch_time: Arc<dyn Fn(u64) -> i64 + Send + Sync>,
    /// Keys' states restored from a checkpoint, `(key, time, kept)`, at a time before
    /// `start`, each key once over all workers.
    pub restored: Option<PartialStream<'scope, u64, K, Kept<S>>>,
    /// Receives each epoch's changed keys: `Some` for a state kept, `None` for one removed.
    pub log: Option<StateLog<K, S>>,
    /// The first epoch the function runs in: earlier ones were run before a restart, and
    /// their result is the restored state.
    pub start: u64,
    /// A second wake-up of a key on processing time whatever its [`Timeout`], read from its
    /// state (a state whose entries expire by processing time under event-time timeouts): the
    /// key is called with no rows, as for a timeout, in the first epoch whose batch time is
    /// past it.
    pub deadline: Option<Deadline<S>>,
}

/// When a key's state asks to be called again on processing time, in milliseconds.
pub type Deadline<S> = Arc<dyn Fn(&S) -> Option<i64> + Send + Sync>;

/// Keys by the time they are due: by their timeout, and by their [`Deadline`].
type Wakes<K> = (BTreeSet<(i64, u64, K)>, BTreeSet<(i64, u64, K)>);

#[derive(Clone)]
enum Out<R> {
    Row(R),
    Figures(StateFigures),
}

/// Runs `function` per key and epoch over `records`, keeping each key's state (see the
/// [module documentation](self)); returns the rows it gives and each epoch's
/// [`StateFigures`] per worker.
pub fn groups_with_state<'scope, K, O, V, S, R>(
    records: VecCollection<'scope, u64, Keyed<K, O, V>, isize>,
    config: GroupsWithState<'scope, K, V, S, R>,
) -> (
    VecCollection<'scope, u64, R, isize>,
    VecCollection<'scope, u64, StateFigures, isize>,
)
where
    K: ExchangeData + Hash + Ord,
    O: ExchangeData + Ord,
    V: ExchangeData + Ord,
    S: ExchangeData,
    R: ExchangeData,
{
    let scope = records.inner.scope();
    let GroupsWithState {
        function,
        timeout,
        maxima,
        delay,
        seen,
        batch_time,
        restored,
        log,
        start,
        deadline,
    } = config;
    let maxima = match maxima {
        Some(maxima) => maxima.inner.broadcast(),
        None => timely::dataflow::operators::ToStream::to_stream(Vec::<(i64, u64, isize)>::new(), scope),
    };
    // Restored states enter as records without a row; they only set the state.
    type In<K, O, V, S> = (K, Option<(O, V, Option<i64>)>, Option<Kept<S>>);
    let records = records
        .inner
        .map(|((key, record), time, diff)| ((key, Some(record), None), time, diff));
    let records = match restored {
        Some(restored) => {
            records.concat(restored.map(|(key, time, kept)| ((key, None, Some(kept)), time, 1isize)))
        }
        None => records,
    };
    let by_key = Exchange::new(|((key, _, _), _, _): &(In<K, O, V, S>, u64, isize)| key.hashed());
    let out = records.binary_frontier::<_, CapacityContainerBuilder<Vec<(Out<R>, u64, isize)>>, _, _, _, _>(
        maxima,
        by_key,
        Pipeline,
        "GroupsWithState",
        move |initial, _info| {
            let mut log = log;
            let mut held: Option<Capability<u64>> = Some(initial);
            let mut clock = WatermarkClock::resumed(seen);
            let mut state: BTreeMap<(u64, K), Kept<S>> = BTreeMap::new();
            // Keys by the time their timeout fires, and by their deadline.
            let mut wakes: Wakes<K> = Default::default();

            let mut waiting: BTreeMap<u64, Vec<Keyed<K, O, V>>> = BTreeMap::new();
            let mut next_epoch = start;
            move |(input, frontier), (maxima, maxima_frontier), output| {
                maxima.for_each_stamp(|_cap, containers| clock.saw_all(containers));
                let port = output.output_index();
                input.for_each_stamp(|cap, containers| {
                    let mut restored = 0i64;
                    let mut restored_at = None;
                    for container in containers {
                        for ((key, record, kept), time, diff) in container.drain(..) {
                            match (record, kept) {
                                (Some(record), _) if diff > 0 => {
                                    waiting.entry(time).or_default().push((key, record));
                                }
                                (None, Some((value, at))) => {
                                    restored += 1;
                                    restored_at = Some(time);
                                    let hash = key.hashed();
                                    if let Some(at) = at {
                                        wakes.0.insert((at, hash, key.clone()));
                                    }
                                    if let Some(due) = deadline.as_ref().and_then(|d| d(&value)) {
                                        wakes.1.insert((due, hash, key.clone()));
                                    }
                                    state.insert((hash, key), (value, at));
                                }
                                _ => {}
                            }
                        }
                    }
                    // Restored keys count as held from the epoch they enter at.
                    if let Some(time) = restored_at {
                        let figures = StateFigures {
                            total_change: restored,
                            ..StateFigures::default()
                        };
                        output
                            .session(&cap.delayed(&time, port))
                            .give((Out::Figures(figures), time, 1));
                    }
                });
                // The least epoch not yet complete on both inputs.
                let mut limit = Antichain::new();
                for t in frontier
                    .frontier()
                    .iter()
                    .chain(maxima_frontier.frontier().iter())
                {
                    limit.insert(*t);
                }
                let done = limit.elements().first().copied();
                // Every complete epoch is looked at (timeouts fire in epochs without rows);
                // once the inputs are closed, only those with rows remain.
                let mut epochs: Vec<u64> = match done {
                    Some(done) => (next_epoch..done).collect(),
                    None => waiting.keys().copied().filter(|e| *e >= next_epoch).collect(),
                };
                epochs.extend(
                    waiting
                        .keys()
                        .copied()
                        .filter(|e| *e >= start && done.is_none_or(|d| *e < d)),
                );
                epochs.sort_unstable();
                epochs.dedup();
                let Some(cap) = held.as_ref() else {
                    return;
                };
                for epoch in epochs {
                    let batch = waiting.remove(&epoch).unwrap_or_default();
                    let (late_watermark, watermark) = clock.watermarks_of(epoch, delay);
                    let batch_ms = batch_time(epoch);
                    let cap = cap.delayed(&epoch);
                    let mut session = output.session(&cap);
                    let mut figures = StateFigures::default();
                    let mut changed = Vec::new();
                    // Per key, in read order.
                    let mut by_key: BTreeMap<(u64, K), Vec<(O, V)>> = BTreeMap::new();
                    for (key, (order, value, event_time)) in batch {
                        if timeout == Timeout::EventTime
                            && event_time.is_some_and(|t| is_final(t, late_watermark))
                        {
                            figures.late += 1;
                            continue;
                        }
                        by_key
                            .entry((key.hashed(), key))
                            .or_default()
                            .push((order, value));
                    }
                    let mut call = |slot: (u64, K),
                                    rows: Vec<V>,
                                    timed_out: bool,
                                    state: &mut BTreeMap<(u64, K), Kept<S>>,
                                    wakes: &mut Wakes<K>| {
                        let old = state.remove(&slot);
                        let had = old.is_some();
                        let (value, old_at) = match old {
                            Some((value, at)) => (Some(value), at),
                            None => (None, None),
                        };
                        if let Some(at) = old_at {
                            wakes.0.remove(&(at, slot.0, slot.1.clone()));
                        }
                        let deadline_of = |value: &Option<S>| {
                            value.as_ref().and_then(|v| deadline.as_ref().and_then(|d| d(v)))
                        };
                        if let Some(due) = deadline_of(&value) {
                            wakes.1.remove(&(due, slot.0, slot.1.clone()));
                        }
                        let mut group = GroupState {
                            value,
                            changed: false,
                            timeout,
                            timeout_at: None,
                            timed_out,
                            watermark,
                            batch_ms,
                        };
                        for row in function(&slot.1, rows, &mut group) {
                            session.give((Out::Row(row), epoch, 1));
                        }
                        let at = group.timeout_at;
                        match group.value {
                            Some(value) => {
                                if group.changed || at != old_at {
                                    if group.changed {
                                        figures.updated += 1;
                                    }
                                    changed.push((slot.1.clone(), Some((value.clone(), at))));
                                }
                                if !had {
                                    figures.total_change += 1;
                                }
                                if let Some(at) = at {
                                    wakes.0.insert((at, slot.0, slot.1.clone()));
                                }
                                if let Some(due) = deadline.as_ref().and_then(|d| d(&value)) {
                                    wakes.1.insert((due, slot.0, slot.1.clone()));
                                }
                                state.insert(slot, (value, at));
                            }
                            None => {
                                if had {
                                    figures.removed += 1;
                                    figures.total_change -= 1;
                                    changed.push((slot.1, None));
                                }
                            }
                        }
                    };
                    let called: BTreeSet<(u64, K)> = by_key.keys().cloned().collect();
                    for (slot, mut rows) in by_key {
                        rows.sort();
                        let rows = rows.into_iter().map(|(_, v)| v).collect();
                        call(slot, rows, false, &mut state, &mut wakes);
                    }
                    // Timeouts and deadlines the epoch has passed, of keys without rows in it.
                    let threshold = match timeout {
                        Timeout::None => None,
                        Timeout::ProcessingTime => Some(batch_ms),
                        Timeout::EventTime => watermark,
                    };
                    let passed = |wakes: &BTreeSet<(i64, u64, K)>, threshold: Option<i64>| {
                        let Some(threshold) = threshold else {
                            return Vec::new();
                        };
                        wakes
                            .iter()
                            .take_while(|(at, _, _)| *at < threshold)
                            .filter(|(_, hash, key)| !called.contains(&(*hash, key.clone())))
                            .map(|(_, hash, key)| (*hash, key.clone()))
                            .collect::<Vec<(u64, K)>>()
                    };
                    let mut due = passed(&wakes.0, threshold);
                    due.extend(passed(&wakes.1, Some(batch_ms)));
                    due.sort();
                    due.dedup();
                    for slot in due {
                        call(slot, Vec::new(), true, &mut state, &mut wakes);
                    }
                    if figures != StateFigures::default() {
                        session.give((Out::Figures(figures), epoch, 1));
                    }
                    drop(session);
                    if let (Some(log), false) = (log.as_mut(), changed.is_empty()) {
                        log(&epoch, changed);
                    }
                    next_epoch = next_epoch.max(epoch + 1);
                }
                match done {
                    Some(done) => {
                        next_epoch = next_epoch.max(done);
                        if let Some(cap) = held.as_mut() {
                            cap.downgrade(&done);
                        }
                    }
                    None => held = None,
                }
            }
        },
    );
    let (rows_part, figures_part) = crate::split::split_in_two(out, |out| matches!(out, Out::Figures(_)));
    let rows = rows_part
        .flat_map(|(out, time, diff)| match out {
            Out::Row(row) => Some((row, time, diff)),
            Out::Figures(_) => None,
        })
        .as_collection();
    let figures = figures_part
        .flat_map(|(out, time, diff)| match out {
            Out::Figures(figures) => Some((figures, time, diff)),
            Out::Row(_) => None,
        })
        .as_collection();
    (rows, figures)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use differential_dataflow::input::Input;

    use super::*;

    const S: i64 = 1_000_000;

    /// An open session: start, last event, rows (µs).
    type Open = (i64, i64, u64);
    /// A closed session: key, start, end, rows (µs).
    type Closed = (char, i64, i64, u64);

    /// What a run gave: each row with its epoch, and the figures summed over epochs and workers.
    type Ran<R> = (Vec<(R, u64)>, StateFigures);

    /// Runs `function` on `workers` workers over `epochs` of `(key, event time)` rows, all read
    /// by worker 0, under a watermark with `delay` (each epoch's maximum fed as the runtime
    /// would); the batch time of epoch `e` is `e` seconds.
    fn run<St, R>(
        workers: usize,
        timeout: Timeout,
        delay: i64,
        epochs: Vec<Vec<(char, i64)>>,
        function: Arc<GroupFn<char, i64, St, R>>,
        deadline: Option<Deadline<St>>,
    ) -> Ran<R>
    where
        St: ExchangeData,
        R: ExchangeData + Ord,
    {
        let rows = Arc::new(Mutex::new(Vec::new()));
        let figures = Arc::new(Mutex::new(StateFigures::default()));
        let (rows_sink, figures_sink) = (rows.clone(), figures.clone());
        timely::execute(timely::Config::process(workers), move |worker| {
            let (rows_sink, figures_sink) = (rows_sink.clone(), figures_sink.clone());
            let function = function.clone();
            let deadline = deadline.clone();
            let (mut input, mut maxima, probe) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, records) = scope.new_collection::<Keyed<char, u64, i64>, isize>();
                let (maxima_in, maxima) = scope.new_collection::<i64, isize>();
                let config = GroupsWithState {
                    function,
                    timeout,
                    maxima: Some(maxima),
                    delay,
                    seen: Vec::new(),
                    batch_time: Arc::new(|epoch| epoch as i64 * 1000),
                    restored: None,
                    log: None,
                    start: 0,
                    deadline,
                };
                let (out, figures) = groups_with_state(records, config);
                figures.inspect(move |(f, _, _)| {
                    let mut sum = figures_sink.lock().unwrap();
                    sum.updated += f.updated;
                    sum.removed += f.removed;
                    sum.total_change += f.total_change;
                    sum.late += f.late;
                });
                let (probe, _) = out
                    .inspect(move |(row, epoch, diff)| {
                        assert_eq!(*diff, 1);
                        rows_sink.lock().unwrap().push((row.clone(), *epoch));
                    })
                    .probe();
                (input, maxima_in, probe)
            });
            let mut order = 0u64;
            for (epoch, rows) in epochs.iter().enumerate() {
                input.advance_to(epoch as u64);
                maxima.advance_to(epoch as u64);
                if worker.index() == 0 {
                    for (key, time) in rows {
                        input.insert((*key, (order, *time, Some(*time))));
                        order += 1;
                    }
                    if let Some(max) = rows.iter().map(|(_, t)| *t).max() {
                        maxima.insert(max);
                    }
                }
            }
            let end = epochs.len() as u64;
            input.advance_to(end);
            maxima.advance_to(end);
            input.flush();
            maxima.flush();
            worker.step_while(|| probe.less_than(input.time()));
        })
        .expect("the workers run");
        let mut rows = rows.lock().unwrap().clone();
        rows.sort();
        let figures = *figures.lock().unwrap();
        (rows, figures)
    }

    /// A running count per user, without timeouts: each call adds its rows to the count.
    #[test]
    fn a_per_user_counter_counts_across_epochs() {
        for workers in [1, 2] {
            let count: Arc<GroupFn<char, i64, u64, (char, u64)>> = Arc::new(|key, rows, state| {
                assert!(!state.has_timed_out());
                let count = state.get().copied().unwrap_or(0) + rows.len() as u64;
                state.update(count);
                vec![(*key, count)]
            });
            let epochs = vec![
                vec![('a', 1), ('b', 2), ('a', 3)],
                vec![('a', 4)],
                vec![('b', 5), ('b', 6), ('c', 7)],
            ];
            let (rows, figures) = run(workers, Timeout::None, 0, epochs, count, None);
            let expected = vec![
                (('a', 2), 0),
                (('a', 3), 1),
                (('b', 1), 0),
                (('b', 3), 2),
                (('c', 1), 2),
            ];
            assert_eq!(rows, expected, "{workers} workers");
            // Three keys held; five calls updated a state.
            assert_eq!(figures.total_change, 3);
            assert_eq!(figures.updated, 5);
            assert_eq!(figures.removed, 0);
        }
    }

    /// Sessions with a 5 s gap closed by an event-time timeout, under a watermark 2 s behind:
    /// a key's rows extend its session and push its timeout to the last event plus 5 s; the
    /// timeout writes the session and removes the state. Epochs 3 and 5 have no rows: their
    /// watermarks alone time the sessions out.
    #[test]
    fn event_time_timeouts_close_sessions_in_epochs_without_rows() {
        for workers in [1, 2] {
            // State: (start, last event, rows); output: (key, start, end, rows), in µs.
            let sessions: Arc<GroupFn<char, i64, Open, Closed>> = Arc::new(|key, rows, state| {
                if state.has_timed_out() {
                    assert!(rows.is_empty());
                    let (start, last, n) = *state.get().expect("a timed-out key has a state");
                    state.remove();
                    return vec![(*key, start, last + 5 * S, n)];
                }
                let (mut start, mut last, mut n) = state.get().copied().unwrap_or((i64::MAX, i64::MIN, 0));
                for t in rows {
                    start = start.min(t);
                    last = last.max(t);
                    n += 1;
                }
                state.update((start, last, n));
                // Setting a processing-time timeout under an event-time one is refused.
                assert!(matches!(
                    state.set_timeout_duration(1),
                    Err(TimeoutError::WrongKind { .. })
                ));
                // A timeout before the watermark is refused.
                if let Some(watermark_ms) = state.get_current_watermark_ms() {
                    assert!(matches!(
                        state.set_timeout_timestamp(watermark_ms - 1),
                        Err(TimeoutError::BeforeWatermark { .. })
                    ));
                }
                state
                    .set_timeout_timestamp((last + 5 * S) / 1000)
                    .expect("after the watermark");
                Vec::new()
            });
            let epochs = vec![
                vec![('a', 10 * S), ('b', 11 * S)], // watermark none
                vec![('a', 13 * S)],                // watermark 9 s
                vec![('a', 20 * S)],                // watermark 11 s; a's timeout now 25 s
                vec![],                             // watermark 18 s: b (16 s) times out
                vec![('c', 14 * S), ('b', 30 * S)], // late by 18 s: c dropped; b anew, 35 s
                vec![],                             // watermark 28 s: a (25 s) times out
            ];
            let (rows, figures) = run(workers, Timeout::EventTime, 2 * S, epochs, sessions, None);
            let expected = vec![(('a', 10 * S, 25 * S, 3), 5), (('b', 11 * S, 16 * S, 1), 3)];
            assert_eq!(rows, expected, "{workers} workers");
            assert_eq!(figures.late, 1);
            // b's new session is still held at the end; a and the first b were removed.
            assert_eq!(figures.total_change, 1);
            assert_eq!(figures.removed, 2);
        }
    }

    /// A processing-time timeout of 1.5 s set in epoch 0 (batch time 0) fires in epoch 2
    /// (batch time 2 s), the first whose batch time has passed it; a key that gets rows again
    /// first is not timed out.
    #[test]
    fn processing_time_timeouts_fire_once_the_batch_time_passes_them() {
        for workers in [1, 2] {
            let idle: Arc<GroupFn<char, i64, u64, (char, bool)>> = Arc::new(|key, rows, state| {
                if state.has_timed_out() {
                    state.remove();
                    return vec![(*key, true)];
                }
                state.update(rows.len() as u64);
                state
                    .set_timeout_duration(1500)
                    .expect("a processing-time timeout");
                vec![(*key, false)]
            });
            let epochs = vec![vec![('a', 0), ('b', 0)], vec![('b', 0)], vec![], vec![]];
            let (rows, _) = run(workers, Timeout::ProcessingTime, 0, epochs, idle, None);
            // b's timeout, reset at 1 s to 2.5 s, fires at 3 s.
            let expected = vec![
                (('a', false), 0),
                (('a', true), 2),
                (('b', false), 0),
                (('b', false), 1),
                (('b', true), 3),
            ];
            assert_eq!(rows, expected, "{workers} workers");
        }
    }

    /// A deadline read from the state wakes a key on processing time under event-time
    /// timeouts: each call keeps "1.5 s after this batch time" (batch time of epoch `e`: `e`
    /// s), and the watermark never reaches anything (a delay of an hour).
    #[test]
    fn a_deadline_wakes_a_key_on_processing_time_under_event_time_timeouts() {
        for workers in [1, 2] {
            let idle: Arc<GroupFn<char, i64, i64, (char, bool)>> = Arc::new(|key, _rows, state| {
                if state.has_timed_out() {
                    state.remove();
                    return vec![(*key, true)];
                }
                state.update(state.get_current_processing_time_ms() + 1500);
                vec![(*key, false)]
            });
            let deadline: Deadline<i64> = Arc::new(|at: &i64| Some(*at));
            let epochs = vec![vec![('a', 0), ('b', 0)], vec![('b', 0)], vec![], vec![]];
            let (rows, figures) = run(
                workers,
                Timeout::EventTime,
                3600 * S,
                epochs,
                idle,
                Some(deadline),
            );
            // a's deadline (1.5 s) passes at 2 s; b's, moved to 2.5 s at 1 s, at 3 s.
            let expected = vec![
                (('a', false), 0),
                (('a', true), 2),
                (('b', false), 0),
                (('b', false), 1),
                (('b', true), 3),
            ];
            assert_eq!(rows, expected, "{workers} workers");
            assert_eq!(figures.removed, 2);
            assert_eq!(figures.total_change, 0);
        }
    }
}
