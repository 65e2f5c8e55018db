//! `sessions`: an aggregation by session windows, as Spark's `session_window(time, gap)`.
//!
//! Each record opens a session `[time, time + gap)` for its key. Sessions of one key that
//! overlap or touch (a record exactly one gap after the previous one joins its session, as in
//! Spark) merge into one, from the earliest start to the latest end, with their aggregates
//! merged. Once an epoch is complete (and its watermark known), each key's new records are
//! merged into its sessions and the changes come out as `-old +new` per session, so the result
//! is an ordinary collection of `((key, (start, end)), aggregate)`.
//!
//! Under a watermark a record whose own session ends at or before the previous epoch's
//! watermark is late (it could only reopen a session already final) and is dropped and counted; with
//! `forget`, a session is forgotten once the watermark reaches its end, so state stays bounded
//! (forgetting emits nothing: the output keeps the session's last value, for sinks that write
//! final or changed rows).

use std::collections::BTreeMap;
use std::hash::Hash;

use differential_dataflow::{AsCollection, ExchangeData, Hashable, VecCollection};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::{Capability, ToStream};

use crate::aggregate::{Aggregation, Dropped};
use crate::watermark::{is_final, WatermarkClock};

/// A session window: `(start, end)`, end exclusive.
pub type Session = (i64, i64);

/// One record: its key, its own session, and what it adds to the aggregate.
pub type SessionRecord<K, I> = (K, (Session, I));

/// A session's result: its key and window, and the aggregate.
pub type SessionResult<K, O> = ((K, Session), O);

/// What a session aggregation gives: each session's changes, and the late records dropped
/// per epoch.
pub type Sessioned<'scope, K, O> = (
    VecCollection<'scope, u64, SessionResult<K, O>, isize>,
    Dropped<'scope>,
);

/// The watermark that sessions are judged by.
pub struct SessionWatermark<'scope> {
    /// Each worker's greatest event time per epoch (see
    /// [`event_time_maxima`](crate::event_time_maxima)).
    pub maxima: VecCollection<'scope, u64, i64, isize>,
    /// The watermark's delay.
    pub delay: i64,
    /// Greatest event times of epochs before this run, `(max, epoch)` (a restart).
    pub seen: Vec<(i64, u64)>,
    /// Whether late records are dropped and final sessions forgotten (append and update
    /// modes; complete mode keeps every session, as Spark does).
    pub forget: bool,
}

/// What makes sessions durable: the sessions restored from a checkpoint, `((key, start), time,
/// Some((end, state)))` at a time before any new record, and the log of each epoch's changed
/// sessions (`None`: gone, merged into another or forgotten) with the first epoch to log.
pub struct SessionLog<'scope, K, S> {
    /// Restored sessions.
    pub restored: crate::aggregate::PartialStream<'scope, u64, (K, i64), Option<(i64, S)>>,
    /// Receives each epoch's changed sessions on the worker that holds them.
    pub log: crate::StateLog<u64, (K, i64), Option<(i64, S)>>,
    /// The first epoch to log.
    pub first_new: u64,
}

/// An epoch's records waiting for it to complete, with the capability to emit at it.
type Waiting<K, I> = (Capability<u64>, Vec<SessionRecord<K, I>>);

/// What the operator emits: a session's change, or how many late records an epoch dropped.
#[derive(Clone)]
enum Out<K, O> {
    Change(SessionResult<K, O>, isize),
    Late(u64),
}

/// Aggregates `records` by session (see the [module documentation](self)), and counts the
/// late records dropped per epoch.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::{sessions, Count};
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut input, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, records) = scope.new_collection::<(char, ((i64, i64), ())), isize>();
///         let (counts, _late) = sessions(records, tidewater_operators::Count::<()>::new(), None, None);
///         let (probe, _) = counts.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
///         (input, probe)
///     });
///     // A gap of 10: events at 0 and 10 are one session [0, 20); 25 opens another.
///     input.insert(('a', ((0, 10), ())));
///     input.insert(('a', ((25, 35), ())));
///     input.advance_to(1);
///     input.insert(('a', ((10, 20), ())));
///     input.advance_to(2);
///     input.flush();
///     worker.step_while(|| probe.less_than(input.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort_by_key(|(_, t, d)| (*t, *d));
/// assert_eq!(
///     seen,
///     vec![
///         ((('a', (0, 10)), 1), 0, 1),
///         ((('a', (25, 35)), 1), 0, 1),
///         ((('a', (0, 10)), 1), 1, -1),
///         ((('a', (0, 20)), 2), 1, 1),
///     ]
/// );
/// ```
pub fn sessions<'scope, K, A>(
    records: VecCollection<'scope, u64, SessionRecord<K, A::Input>, isize>,
    agg: A,
    watermark: Option<SessionWatermark<'scope>>,
    durable: Option<SessionLog<'scope, K, A::State>>,
) -> Sessioned<'scope, K, A::Output>
where
    K: ExchangeData + Hash,
    A: Aggregation,
    A::Input: ExchangeData,
{
    let scope = records.inner.scope();
    let (maxima, delay, seen, forget) = match watermark {
        Some(w) => (w.maxima.inner.broadcast(), w.delay, w.seen, w.forget),
        None => (
            Vec::<(i64, u64, isize)>::new().to_stream(scope),
            0,
            Vec::new(),
            false,
        ),
    };
    // Restored sessions travel with the records, as records without an input.
    type In<K, I, S> = (K, Result<(Session, I), (i64, Option<(i64, S)>)>);
    let mut records = records
        .inner
        .map(|((key, record), time, diff)| ((key, Ok(record)), time, diff));
    let (mut log, first_new) = match durable {
        Some(durable) => {
            records = timely::dataflow::operators::Concat::concat(
                records,
                durable
                    .restored
                    .map(|((key, start), time, session)| ((key, Err((start, session))), time, 1)),
            );
            (Some(durable.log), durable.first_new)
        }
        None => (None, 0),
    };
    let by_key = Exchange::new(|((key, _), _, _): &(In<K, A::Input, A::State>, u64, isize)| key.hashed());
    let out = records
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(Out<K, A::Output>, u64, isize)>>, _, _, _, _>(
            maxima,
            by_key,
            Pipeline,
            "Sessions",
            move |_initial, _info| {
                let mut clock = WatermarkClock::resumed(seen);
                // Each key's sessions by start: (end, state); and the sessions by end, to forget
                // the closed ones without looking at the others.
                let mut open: foldhash::HashMap<K, BTreeMap<i64, (i64, A::State)>> = Default::default();
                let mut closing: BTreeMap<i64, Vec<(K, i64)>> = BTreeMap::new();
                let mut waiting: BTreeMap<u64, Waiting<K, A::Input>> = BTreeMap::new();
                move |(input, frontier), (maxima, maxima_frontier), output| {
                    let port = output.output_index();
                    maxima.for_each_stamp(|_cap, containers| clock.saw_all(containers));
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for ((key, record), time, diff) in container.drain(..) {
                                match record {
                                    // A session only grows: retractions are not supported.
                                    Ok(record) => {
                                        for _ in 0..diff.max(0) {
                                            waiting
                                                .entry(time)
                                                .or_insert_with_key(|t| (cap.delayed(t, port), Vec::new()))
                                                .1
                                                .push((key.clone(), record.clone()));
                                        }
                                    }
                                    Err((start, Some((end, state)))) => {
                                        closing.entry(end).or_default().push((key.clone(), start));
                                        open.entry(key).or_default().insert(start, (end, state));
                                    }
                                    Err((_, None)) => {}
                                }
                            }
                        }
                    });
                    while let Some(time) = waiting.keys().next().copied() {
                        if frontier.less_equal(&time) || maxima_frontier.frontier().iter().any(|f| *f < time)
                        {
                            break;
                        }
                        let Some((cap, batch)) = waiting.remove(&time) else {
                            break;
                        };
                        // Rows are late by the previous epoch's watermark; sessions close by
                        // this epoch's (Spark's two watermarks).
                        let (late_watermark, watermark) = clock.watermarks_of(time, delay);
                        let mut late = 0u64;
                        let mut by_key: foldhash::HashMap<K, Vec<(Session, A::Input)>> = Default::default();
                        for (key, (session, input)) in batch {
                            if forget && is_final(session.1, late_watermark) {
                                late += 1;
                                continue;
                            }
                            by_key.entry(key).or_default().push((session, input));
                        }
                        let logging = log.is_some() && time >= first_new;
                        let mut logged = Vec::new();
                        let mut session_out = output.session(&cap);
                        for (key, mut new) in by_key {
                            new.sort_by_key(|(session, _)| *session);
                            let sessions = open.entry(key.clone()).or_default();
                            // The sessions as they were before this epoch, for their retraction.
                            let mut before: BTreeMap<i64, (i64, A::State)> = BTreeMap::new();
                            let mut changed: Vec<i64> = Vec::new();
                            for ((start, end), input) in new {
                                // Every session overlapping or touching [start, end] merges.
                                let touching: Vec<i64> = sessions
                                    .range(..=end)
                                    .filter(|(_, (e, _))| *e >= start)
                                    .map(|(s, _)| *s)
                                    .collect();
                                let (mut merged_start, mut merged_end) = (start, end);
                                let mut state = agg.init();
                                agg.update(&mut state, &input, 1);
                                for s in touching {
                                    if let Some((e, st)) = sessions.remove(&s) {
                                        if !changed.contains(&s) {
                                            before.insert(s, (e, st.clone()));
                                        }
                                        changed.retain(|c| *c != s);
                                        merged_start = merged_start.min(s);
                                        merged_end = merged_end.max(e);
                                        agg.merge(&mut state, st);
                                    }
                                }
                                sessions.insert(merged_start, (merged_end, state));
                                changed.push(merged_start);
                            }
                            for (start, (end, state)) in before {
                                if logging && !changed.contains(&start) {
                                    logged.push(((key.clone(), start), None));
                                }
                                if let Some(old) = agg.output(&state) {
                                    session_out.give((
                                        Out::Change(((key.clone(), (start, end)), old), -1),
                                        time,
                                        1,
                                    ));
                                }
                            }
                            for start in changed {
                                if let Some((end, state)) = sessions.get(&start) {
                                    closing.entry(*end).or_default().push((key.clone(), start));
                                    if logging {
                                        logged.push(((key.clone(), start), Some((*end, state.clone()))));
                                    }
                                    if let Some(new) = agg.output(state) {
                                        session_out.give((
                                            Out::Change(((key.clone(), (start, *end)), new), 1),
                                            time,
                                            1,
                                        ));
                                    }
                                }
                            }
                        }
                        if late > 0 {
                            session_out.give((Out::Late(late), time, 1));
                        }
                        // Sessions the watermark has closed get nothing at this time or later.
                        while let Some(entry) = closing.first_entry().filter(|_| forget) {
                            if !is_final(*entry.key(), watermark) {
                                break;
                            }
                            let end = *entry.key();
                            for (key, start) in entry.remove() {
                                let Some(sessions) = open.get_mut(&key) else {
                                    continue;
                                };
                                // Merged into a later session since, or still this one.
                                if sessions.get(&start).is_some_and(|(e, _)| *e == end) {
                                    sessions.remove(&start);
                                    if logging {
                                        logged.push(((key.clone(), start), None));
                                    }
                                    if sessions.is_empty() {
                                        open.remove(&key);
                                    }
                                }
                            }
                        }
                        drop(session_out);
                        if let (Some(log), false) = (log.as_mut(), logged.is_empty()) {
                            log(&time, logged);
                        }
                    }
                }
            },
        );
    let (changes_part, late_part) = crate::split::split_in_two(out, |out| matches!(out, Out::Late(_)));
    let changes = changes_part
        .flat_map(|(out, time, _)| match out {
            Out::Change(result, diff) => Some((result, time, diff)),
            Out::Late(_) => None,
        })
        .as_collection();
    let late = late_part
        .flat_map(|(out, time, diff)| match out {
            Out::Late(count) => Some((count, time, diff)),
            Out::Change(..) => None,
        })
        .as_collection();
    (changes, late)
}
