//! `deduplicate`: the first record of each key, as Spark's streaming `dropDuplicates` and
//! `dropDuplicatesWithinWatermark` keep it.
//!
//! Records are exchanged by key; once an epoch is complete (and its watermark known), each key
//! that has no state yet emits the first of its records in the epoch (the least `order`, the
//! position at which a source read it, then the least value, so the choice depends on the data
//! alone) and keeps a state that says until when it is remembered:
//!
//! - [`Remember::Forever`]: no watermark bounds the key (state grows with the distinct keys);
//! - [`Remember::UntilEventTime`]: the key holds the event time, and is forgotten once the
//!   watermark reaches it (no later record can carry it without being late);
//! - [`Remember::WithinDelay`]: Spark's `dropDuplicatesWithinWatermark`: forgotten once the
//!   watermark reaches the first record's event time plus the watermark's delay, so a later
//!   copy after that is emitted again.
//!
//! Under a watermark a record at or before the previous epoch's watermark is late and dropped,
//! as Spark's stateful operators drop it, and counted. Keys are forgotten at the end of the
//! epoch whose own watermark has reached them.

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Capability, Concat};

use crate::aggregate::PartialStream;
use crate::watermark::{is_final, WatermarkClock};
use crate::StateLog;

/// How long a key is remembered once its first record is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remember {
    /// For ever.
    Forever,
    /// Until the watermark reaches the record's event time (the key includes it).
    UntilEventTime,
    /// Until the watermark reaches the record's event time plus the watermark's delay.
    WithinDelay,
}

/// A key's state: remembered until the watermark reaches `Some(time)`, or for ever (`None`).
pub type Until = Option<i64>;

/// Where a deduplication logs each epoch's changed keys (`Some(until)` remembered, `None`
/// forgotten), and the first epoch to log.
pub type KeyLog<K> = (StateLog<u64, K, Option<Until>>, u64);

/// One record: its key, its place in the source's order, the record, and its event time.
pub type Keyed<K, O, V> = (K, (O, V, Option<i64>));

/// What deduplication needs besides its records.
pub struct Dedup<'scope, K> {
    /// Each worker's greatest event time per epoch (see
    /// [`event_time_maxima`](crate::event_time_maxima)), under a watermark.
    pub maxima: Option<VecCollection<'scope, u64, i64, isize>>,
    /// The watermark's delay.
    pub delay: i64,
    /// How long a key is remembered.
    pub remember: Remember,
    /// Greatest event times of epochs before this run, `(max, epoch)` (a restart).
    pub seen: Vec<(i64, u64)>,
    /// Keys restored from a checkpoint, `(key, time, until)`, at a time before any new record.
    pub restored: Option<PartialStream<'scope, u64, K, Until>>,
    /// Receives each epoch's changed keys: `Some(until)` for a key now remembered, `None` for
    /// one forgotten; with the first epoch to log (earlier ones hold restored keys).
    pub log: Option<KeyLog<K>>,
}

/// An epoch's records waiting for it to complete, with the capability to emit at it.
type Waiting<K, O, V> = (Capability<u64>, Vec<Keyed<K, O, V>>);

/// What the operator emits: a first record, or what an epoch did on one worker.
#[derive(Clone)]
enum Out<V> {
    First(V),
    Figures(Figures),
}

/// What a deduplication did in an epoch on one worker: the figures of Spark's state operator
/// progress. Summing `added - removed` over the epochs gives the keys held.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Figures {
    /// Keys remembered (restored ones included, at the epoch they are restored at).
    pub added: u64,
    /// Keys forgotten.
    pub removed: u64,
    /// Late records dropped.
    pub late: u64,
}

/// Each epoch's [`Figures`], one per worker that did something.
pub type FiguresOf<'scope> = VecCollection<'scope, u64, Figures, isize>;

/// The first record of each key (see the [module documentation](self)), and what each epoch
/// did on each worker ([`Figures`]).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::deduplicate::{deduplicate, Dedup, Remember};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, records) = scope.new_collection::<(char, (u64, u32, Option<i64>)), isize>();
///         let dedup = Dedup { maxima: None, delay: 0, remember: Remember::Forever, seen: Vec::new(), restored: None, log: None };
///         let (first, _late) = deduplicate(records, dedup);
///         let (probe, _) = first.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
///         (input, probe)
///     });
///     // Key 'a' twice in epoch 0: the one read first (order 0) wins; again in epoch 1: dropped.
///     input.insert(('a', (1, 20, None)));
///     input.insert(('a', (0, 10, None)));
///     input.insert(('b', (2, 30, None)));
///     input.advance_to(1);
///     input.insert(('a', (3, 40, None)));
///     input.advance_to(2);
///     input.flush();
///     worker.step_while(|| probe.less_than(input.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![(10, 0, 1), (30, 0, 1)]);
/// ```
pub fn deduplicate<'scope, K, O, V>(
    records: VecCollection<'scope, u64, Keyed<K, O, V>, isize>,
    dedup: Dedup<'scope, K>,
) -> (VecCollection<'scope, u64, V, isize>, FiguresOf<'scope>)
where
    K: ExchangeData + Hash,
    O: ExchangeData + Ord,
    V: ExchangeData + Ord,
{
    let scope = records.inner.scope();
    let Dedup {
        maxima,
        delay,
        remember,
        seen,
        restored,
        log,
    } = dedup;
    let maxima = match maxima {
        Some(maxima) => maxima.inner.broadcast(),
        None => timely::dataflow::operators::ToStream::to_stream(Vec::<(i64, u64, isize)>::new(), scope),
    };
    // Restored keys enter as records without a value; they only set the state.
    let restored = restored.map(|restored| {
        restored.map(|(key, time, until)| ((key, None::<(O, V, Option<i64>)>, until), time, 1isize))
    });
    let records = records
        .inner
        .map(|((key, record), time, diff)| ((key, Some(record), None), time, diff));
    let records = match restored {
        Some(restored) => records.concat(restored),
        None => records,
    };
    type In<K, O, V> = (K, Option<(O, V, Option<i64>)>, Until);
    let by_key = Exchange::new(|((key, _, _), _, _): &(In<K, O, V>, u64, isize)| key.hashed());
    let out = records.binary_frontier::<_, CapacityContainerBuilder<Vec<(Out<V>, u64, isize)>>, _, _, _, _>(
        maxima,
        by_key,
        Pipeline,
        "Deduplicate",
        move |_initial, _info| {
            let mut log = log;
            let mut clock = WatermarkClock::resumed(seen);
            // Each remembered key and until when; the keys by the time they are forgotten.
            let mut state: foldhash::HashMap<K, Until> = Default::default();
            let mut expiring: BTreeMap<i64, Vec<K>> = BTreeMap::new();
            let mut waiting: BTreeMap<u64, Waiting<K, O, V>> = BTreeMap::new();
            move |(input, frontier), (maxima, maxima_frontier), output| {
                let port = output.output_index();
                maxima.for_each_stamp(|_cap, containers| clock.saw_all(containers));
                input.for_each_stamp(|cap, containers| {
                    let mut restored = 0u64;
                    let mut restored_at = None;
                    for container in containers {
                        for ((key, record, until), time, diff) in container.drain(..) {
                            match record {
                                Some(record) if diff > 0 => {
                                    waiting
                                        .entry(time)
                                        .or_insert_with_key(|t| (cap.delayed(t, port), Vec::new()))
                                        .1
                                        .push((key, record));
                                }
                                Some(_) => {}
                                None => {
                                    if let Some(until) = until {
                                        expiring.entry(until).or_default().push(key.clone());
                                    }
                                    state.insert(key, until);
                                    restored += 1;
                                    restored_at = Some(time);
                                }
                            }
                        }
                    }
                    if let Some(time) = restored_at {
                        let figures = Figures {
                            added: restored,
                            ..Figures::default()
                        };
                        output
                            .session(&cap.delayed(&time, port))
                            .give((Out::Figures(figures), time, 1));
                    }
                });
                while let Some(time) = waiting.keys().next().copied() {
                    if frontier.less_equal(&time) || maxima_frontier.frontier().iter().any(|f| *f < time) {
                        break;
                    }
                    let Some((cap, mut batch)) = waiting.remove(&time) else {
                        break;
                    };
                    // Rows are late by the previous epoch's watermark; keys are forgotten by
                    // this epoch's (Spark's two watermarks).
                    let (late_watermark, watermark) = clock.watermarks_of(time, delay);
                    let logging = log.as_ref().is_some_and(|(_, first)| time >= *first);
                    let mut changed = Vec::new();
                    let mut figures = Figures::default();
                    // Per key, the least (order, record) first.
                    batch.sort_by(|(ka, (oa, va, _)), (kb, (ob, vb, _))| {
                        ka.hashed().cmp(&kb.hashed()).then((oa, va).cmp(&(ob, vb)))
                    });
                    let mut session = output.session(&cap);
                    for (key, (_, record, event_time)) in batch {
                        if event_time.is_some_and(|t| is_final(t, late_watermark)) {
                            figures.late += 1;
                            continue;
                        }
                        if state.contains_key(&key) {
                            continue;
                        }
                        let until = match (remember, event_time) {
                            (Remember::UntilEventTime, Some(t)) => Some(t),
                            (Remember::WithinDelay, Some(t)) => Some(t.saturating_add(delay)),
                            _ => None,
                        };
                        if let Some(until) = until {
                            expiring.entry(until).or_default().push(key.clone());
                        }
                        if logging {
                            changed.push((key.clone(), Some(until)));
                        }
                        state.insert(key, until);
                        figures.added += 1;
                        session.give((Out::First(record), time, 1));
                    }
                    // Keys the epoch's watermark has reached are forgotten at its end.
                    while let Some(entry) = expiring.first_entry() {
                        if !is_final(*entry.key(), watermark) {
                            break;
                        }
                        let until = *entry.key();
                        for key in entry.remove() {
                            // A key may have been forgotten and remembered again since.
                            if state.get(&key) == Some(&Some(until)) {
                                state.remove(&key);
                                figures.removed += 1;
                                if logging {
                                    changed.push((key, None));
                                }
                            }
                        }
                    }
                    if figures != Figures::default() {
                        session.give((Out::Figures(figures), time, 1));
                    }
                    drop(session);
                    if let (Some((log, _)), false) = (log.as_mut(), changed.is_empty()) {
                        log(&time, changed);
                    }
                }
            }
        },
    );
    let (first_part, figures_part) = crate::split::split_in_two(out, |out| matches!(out, Out::Figures(_)));
    let first = first_part
        .flat_map(|(out, time, diff)| match out {
            Out::First(record) => Some((record, time, diff)),
            Out::Figures(_) => None,
        })
        .as_collection();
    let figures = figures_part
        .flat_map(|(out, time, diff)| match out {
            Out::Figures(figures) => Some((figures, time, diff)),
            Out::First(_) => None,
        })
        .as_collection();
    (first, figures)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use differential_dataflow::input::Input;

    use super::*;

    /// Spark's `dropDuplicatesWithinWatermark` with a delay of 5: a key is remembered until
    /// the watermark reaches its first event time plus 5, and forgotten at the end of that
    /// epoch; a record at or before the watermark is late.
    #[test]
    fn a_key_is_forgotten_once_the_watermark_passes_its_time_plus_the_delay() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let late = Arc::new(Mutex::new(Vec::new()));
        let (sink, late_sink) = (seen.clone(), late.clone());
        timely::execute_directly(move |worker| {
            let (mut input, mut maxima, probe) = worker.dataflow::<u64, _, _>(|scope| {
                let (input, records) = scope.new_collection::<(char, (u64, i64, Option<i64>)), isize>();
                let (maxima_in, maxima) = scope.new_collection::<i64, isize>();
                let dedup = Dedup {
                    maxima: Some(maxima),
                    delay: 5,
                    remember: Remember::WithinDelay,
                    seen: Vec::new(),
                    restored: None,
                    log: None,
                };
                let (first, figures) = deduplicate(records, dedup);
                figures.inspect(move |(f, t, _)| {
                    late_sink.lock().unwrap().push((*t, f.added, f.removed, f.late))
                });
                let (probe, _) = first.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
                (input, maxima_in, probe)
            });
            // (epoch, records as (key, event time), the epoch's greatest event time)
            type Epoch = (u64, &'static [(char, i64)], i64);
            let epochs: [Epoch; 4] = [
                (0, &[('a', 10)], 10),            // watermark none: a emitted, until 15
                (1, &[('a', 12)], 20),            // watermark 5: a duplicate
                (2, &[('a', 16)], 20),            // watermark 15: still a duplicate, then forgotten
                (3, &[('a', 17), ('b', 15)], 20), // watermark 15: a again; b@15 is late
            ];
            for (epoch, records, max) in epochs {
                input.advance_to(epoch);
                maxima.advance_to(epoch);
                for (i, (key, time)) in records.iter().enumerate() {
                    input.insert((*key, (i as u64, *time, Some(*time))));
                }
                maxima.insert(max);
            }
            input.advance_to(4);
            maxima.advance_to(4);
            input.flush();
            maxima.flush();
            worker.step_while(|| probe.less_than(input.time()));
        });
        let mut seen = seen.lock().unwrap().clone();
        seen.sort_by_key(|(_, t, _)| *t);
        assert_eq!(seen, vec![(10, 0, 1), (17, 3, 1)]);
        // (epoch, added, removed, late): a in 0; forgotten at the end of 2; a again and b late in 3.
        assert_eq!(
            *late.lock().unwrap(),
            vec![(0, 1, 0, 0), (2, 0, 1, 0), (3, 1, 0, 1)]
        );
    }
}
