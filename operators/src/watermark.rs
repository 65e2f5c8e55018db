//! `drop_late`: an event-time watermark, and the records that arrive after it.
//!
//! The watermark of epoch `t` is the greatest event time seen in the epochs before `t`, over all
//! workers, less a fixed delay: the engine's bet that no event older than that is still to
//! come. As in Spark, a record of epoch `t` is late when its event time is at or below the
//! watermark of the epoch before, `t - 1` (so nothing is late in epochs 0 and 1), and is
//! dropped; the watermark of `t` itself closes windows and evicts state in `t`, after the
//! epoch's records have updated it.
//!
//! Each worker finds the greatest event time of its own records per epoch; those maxima are
//! broadcast, so every worker knows the same watermark; the records of epoch `t` wait until the
//! maxima of every earlier epoch are in (the frontier of the broadcast stream says when).

use std::collections::BTreeMap;

use differential_dataflow::{AsCollection, ExchangeData, VecCollection};
use serde::{Deserialize, Serialize};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::Capability;

/// Whether `time` is final under `watermark`: at or before it. An event at such a time is late
/// (it is dropped), and a window that ends at such a time is complete (append mode writes it).
/// This is Spark's rule, and the one rule both the operators and the driver apply.
pub fn is_final(time: i64, watermark: Option<i64>) -> bool {
    watermark.is_some_and(|w| time <= w)
}

/// An epoch's two watermarks: the previous epoch's, against which rows are late, and its own.
pub type Watermarks = (Option<i64>, Option<i64>);

/// The watermark of each epoch, from the greatest event times the epochs before it saw: feed
/// it every `(max, epoch)` of the maxima stream, and ask for epochs in increasing order.
#[derive(Debug, Default)]
pub struct WatermarkClock {
    /// The greatest event time per epoch, for the epochs not yet folded into `before`.
    seen: BTreeMap<u64, i64>,
    /// The greatest event time of every epoch before the last one asked for.
    before: Option<i64>,
    /// The last epoch [`watermarks_of`](Self::watermarks_of) answered, and its answer.
    last: Option<(u64, Watermarks)>,
}

impl WatermarkClock {
    /// A clock that goes on from the greatest event times of earlier epochs, `(max, epoch)`,
    /// as a restarted query knows them from its checkpoint (none for a fresh start).
    pub fn resumed(seen: impl IntoIterator<Item = (i64, u64)>) -> Self {
        let mut clock = WatermarkClock::default();
        for (max, epoch) in seen {
            clock.saw(max, epoch);
        }
        clock
    }

    /// Records that some worker saw event time `max` in `epoch`.
    pub fn saw(&mut self, max: i64, epoch: u64) {
        let entry = self.seen.entry(epoch).or_insert(i64::MIN);
        *entry = (*entry).max(max);
    }

    /// Records every `(max, epoch, _)` update of `containers` (as an operator's input of
    /// per-worker maxima delivers them), draining them.
    pub fn saw_all<'a>(&mut self, containers: impl IntoIterator<Item = &'a mut Vec<(i64, u64, isize)>>) {
        for container in containers {
            for (max, epoch, _) in container.drain(..) {
                self.saw(max, epoch);
            }
        }
    }

    /// The greatest event time fed so far, of any epoch.
    pub fn max_event_time(&self) -> Option<i64> {
        self.seen.values().copied().chain(self.before).max()
    }

    /// The watermark of `epoch` (the greatest event time before it, less `delay`), once every
    /// maximum before `epoch` has been fed; `None` before any event. Epochs must be asked for
    /// in increasing order.
    pub fn watermark_of(&mut self, epoch: u64, delay: i64) -> Option<i64> {
        let later = self.seen.split_off(&epoch);
        self.before = self.seen.values().copied().chain(self.before).max();
        self.seen = later;
        self.before.map(|m| m - delay)
    }

    /// The two watermarks Spark applies in `epoch`: the previous epoch's, against which rows
    /// are late (so nothing is late in epochs 0 and 1), and the epoch's own, which closes
    /// windows and evicts state. Epochs must be asked for in increasing order; asking for the
    /// same epoch again gives the same answer.
    pub fn watermarks_of(&mut self, epoch: u64, delay: i64) -> Watermarks {
        if let Some((asked, answer)) = self.last {
            if asked == epoch {
                return answer;
            }
        }
        let late = epoch.checked_sub(1).and_then(|previous| {
            // The greatest time of the epochs before the previous one: the folded ones are all
            // before it, since the last epoch asked for is at most the previous one.
            let unfolded = self.seen.range(..previous).map(|(_, max)| *max);
            unfolded.chain(self.before).max().map(|m| m - delay)
        });
        let answer = (late, self.watermark_of(epoch, delay));
        self.last = Some((epoch, answer));
        answer
    }
}

/// Records waiting for their epoch's watermark, with the capability to pass them on.
type Waiting<D> = (Capability<u64>, Vec<(D, u64, isize)>);

/// Drops the records of `records` whose event time (`event_time`, `None` for records without
/// one, which are kept) is at or below the watermark of the epoch before theirs (Spark's rule):
/// the greatest event time of the epochs before that one, less `delay`. Also returns each worker's greatest event time per epoch
/// (one `(max, epoch, +1)` per worker and epoch with records), from which the watermark is
/// computed, for whoever reports it.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use differential_dataflow::input::Input;
/// use tidewater_operators::drop_late;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// timely::execute_directly(move |worker| {
///     let (mut events, probe) = worker.dataflow::<u64, _, _>(|scope| {
///         let (input, events) = scope.new_collection::<(char, i64), isize>();
///         let (on_time, _maxima) = drop_late(events, 10, |(_, time): &(char, i64)| Some(*time));
///         let (probe, _) = on_time.inspect(move |x| sink.lock().unwrap().push(*x)).probe();
///         (input, probe)
///     });
///     events.insert(('a', 100));
///     events.advance_to(1);
///     // Epoch 1 judges lateness by epoch 0's watermark, which is none: 80 is in time.
///     events.insert(('b', 80));
///     events.advance_to(2);
///     // Epoch 2 by epoch 1's, 100 - 10 = 90: 95 is in time, 90 is late.
///     events.insert(('c', 95));
///     events.insert(('d', 90));
///     events.advance_to(3);
///     events.flush();
///     worker.step_while(|| probe.less_than(events.time()));
/// });
/// let mut seen = seen.lock().unwrap().clone();
/// seen.sort();
/// assert_eq!(seen, vec![(('a', 100), 0, 1), (('b', 80), 1, 1), (('c', 95), 2, 1)]);
/// ```
pub fn drop_late<'scope, D, F>(
    records: VecCollection<'scope, u64, D, isize>,
    delay: i64,
    event_time: F,
) -> (
    VecCollection<'scope, u64, D, isize>,
    VecCollection<'scope, u64, i64, isize>,
)
where
    D: ExchangeData,
    F: Fn(&D) -> Option<i64> + Clone + 'static,
{
    drop_late_after(records, delay, event_time, Vec::new())
}

/// One worker's event-time statistics of one epoch: what Spark's progress reports as
/// `eventTime` (`min`, `avg`, `max`), merged over workers and watermarked inputs by
/// [`merge`](Self::merge). Late rows count too, as in Spark, where the statistics are taken
/// where the watermark is declared, before any operator drops a row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventTimeStats {
    /// The greatest event time, microseconds.
    pub max: i64,
    /// The least event time, microseconds.
    pub min: i64,
    /// The sum of the event times in milliseconds (Spark averages milliseconds), exact.
    pub sum_millis: i128,
    /// How many records had an event time.
    pub count: u64,
}

impl EventTimeStats {
    /// The statistics of one event time.
    pub fn of(micros: i64) -> Self {
        EventTimeStats {
            max: micros,
            min: micros,
            // Java's division, toward zero, as Spark takes milliseconds.
            sum_millis: i128::from(micros / 1000),
            count: 1,
        }
    }

    /// The statistics of both `self`'s records and `other`'s.
    pub fn merge(self, other: Self) -> Self {
        EventTimeStats {
            max: self.max.max(other.max),
            min: self.min.min(other.min),
            sum_millis: self.sum_millis + other.sum_millis,
            count: self.count + other.count,
        }
    }

    /// The mean event time in milliseconds, truncated as Spark's `avg.toLong` is.
    pub fn avg_millis(&self) -> i64 {
        if self.count == 0 {
            return 0;
        }
        (self.sum_millis as f64 / self.count as f64) as i64
    }
}

/// Each worker's [`EventTimeStats`] per epoch, `(stats, epoch, +1)`, of the records of `records`
/// that have an event time (`event_time`), beside the records themselves, passed on unchanged.
/// An epoch's statistics come out once the epoch is complete on the worker; an epoch without
/// such records gives none.
///
/// One operator with an output each: the records move on as they arrive, where a second
/// reader of `records` would have every container cloned for it.
pub fn event_time_stats<'scope, D, F>(
    records: VecCollection<'scope, u64, D, isize>,
    event_time: F,
) -> (
    VecCollection<'scope, u64, D, isize>,
    VecCollection<'scope, u64, EventTimeStats, isize>,
)
where
    D: ExchangeData,
    F: Fn(&D) -> Option<i64> + 'static,
{
    use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;
    let mut builder = OperatorBuilder::new("EventTimeStats".to_owned(), records.inner.scope());
    let mut input = builder.new_input(records.inner, Pipeline);
    let (mut records_output, passed) = builder.new_output::<Vec<(D, u64, isize)>>();
    let (mut stats_output, stats) = builder.new_output::<Vec<(EventTimeStats, u64, isize)>>();
    builder.build(move |_initial| {
        let mut pending: BTreeMap<u64, (Capability<u64>, EventTimeStats)> = BTreeMap::new();
        move |frontiers| {
            let frontier = &frontiers[0];
            let (mut records_out, mut stats_out) = (records_output.activate(), stats_output.activate());
            input.for_each_stamp(|cap, containers| {
                // A batch sent under no capability claims no time, and there is none to send
                // it on with: such batches carry nothing.
                let passing = cap.retain_least(0);
                for container in containers {
                    for (record, time, diff) in container.iter() {
                        let Some(t) = event_time(record).filter(|_| *diff > 0) else {
                            continue;
                        };
                        let seen = EventTimeStats::of(t);
                        pending
                            .entry(*time)
                            .and_modify(|(_, stats)| *stats = stats.merge(seen))
                            .or_insert_with(|| (cap.delayed(time, 1), seen));
                    }
                    if let Some(passing) = &passing {
                        records_out.give(passing, container);
                    }
                }
            });
            while let Some(time) = pending.keys().next().copied() {
                if frontier.less_equal(&time) {
                    break;
                }
                if let Some((cap, stats)) = pending.remove(&time) {
                    stats_out.give(&cap, &mut vec![(stats, time, 1)]);
                }
            }
        }
    });
    (passed.as_collection(), stats.as_collection())
}

/// Each worker's greatest event time per epoch, `(max, epoch, +1)`, of the records of
/// `records` that have one (`event_time`): what the watermark is computed from. An epoch's
/// maximum comes out once the epoch is complete on the worker. The records are passed on
/// beside them, as [`event_time_stats`] does.
pub fn event_time_maxima<'scope, D, F>(
    records: VecCollection<'scope, u64, D, isize>,
    event_time: F,
) -> (
    VecCollection<'scope, u64, D, isize>,
    VecCollection<'scope, u64, i64, isize>,
)
where
    D: ExchangeData,
    F: Fn(&D) -> Option<i64> + 'static,
{
    let (records, stats) = event_time_stats(records, event_time);
    (records, stats.map(|stats| stats.max))
}

/// As [`drop_late`], going on from the greatest event times of epochs before this run,
/// `(max, epoch)` (a restarted query knows them from its checkpoint), so that rows late
/// before the restart are late after it too.
pub fn drop_late_after<'scope, D, F>(
    records: VecCollection<'scope, u64, D, isize>,
    delay: i64,
    event_time: F,
    seen: Vec<(i64, u64)>,
) -> (
    VecCollection<'scope, u64, D, isize>,
    VecCollection<'scope, u64, i64, isize>,
)
where
    D: ExchangeData,
    F: Fn(&D) -> Option<i64> + Clone + 'static,
{
    let (records, maxima) = event_time_maxima(records, event_time.clone());
    let on_time = drop_late_given(records, &maxima, delay, event_time, seen);
    (on_time, maxima)
}

/// As [`drop_late_after`], with each worker's greatest event time per epoch given (`maxima`,
/// as [`event_time_maxima`] computes them from `records`), for a caller that derives them with
/// more figures (see [`event_time_stats`]).
pub fn drop_late_given<'scope, D, F>(
    records: VecCollection<'scope, u64, D, isize>,
    maxima: &VecCollection<'scope, u64, i64, isize>,
    delay: i64,
    event_time: F,
    seen: Vec<(i64, u64)>,
) -> VecCollection<'scope, u64, D, isize>
where
    D: ExchangeData,
    F: Fn(&D) -> Option<i64> + Clone + 'static,
{
    let every_workers_maxima = maxima.inner.clone().broadcast();
    let on_time = records
        .inner
        .binary_frontier::<_, CapacityContainerBuilder<Vec<(D, u64, isize)>>, _, _, _, _>(
            every_workers_maxima,
            Pipeline,
            Pipeline,
            "DropLate",
            move |_initial, _info| {
                let mut clock = WatermarkClock::resumed(seen);
                let mut waiting: BTreeMap<u64, Waiting<D>> = BTreeMap::new();
                move |(input, _records_frontier), (maxima, maxima_frontier), output| {
                    let port = output.output_index();
                    maxima.for_each_stamp(|_cap, containers| clock.saw_all(containers));
                    input.for_each_stamp(|cap, containers| {
                        for container in containers {
                            for (record, time, diff) in container.drain(..) {
                                waiting
                                    .entry(time)
                                    .or_insert_with(|| (cap.delayed(&time, port), Vec::new()))
                                    .1
                                    .push((record, time, diff));
                            }
                        }
                    });
                    // Epoch `t`'s watermark is known once no maximum of an epoch before `t`
                    // can still arrive.
                    while let Some(time) = waiting.keys().next().copied() {
                        if maxima_frontier.frontier().iter().any(|f| *f < time) {
                            break;
                        }
                        let Some((cap, batch)) = waiting.remove(&time) else {
                            break;
                        };
                        // Spark drops rows against the previous epoch's watermark.
                        let (late_watermark, _) = clock.watermarks_of(time, delay);
                        let mut session = output.session(&cap);
                        for (record, t, diff) in batch {
                            let late = event_time(&record).is_some_and(|e| is_final(e, late_watermark));
                            if !late {
                                session.give((record, t, diff));
                            }
                        }
                    }
                }
            },
        );
    on_time.as_collection()
}
