//! The `windowed` workload: events counted per key in tumbling windows of event time, under
//! Spark's epoch watermark, in append mode (see `engines/windowed.rs` for the rules).
//!
//! Everything per event happens inside the circuit:
//!
//! - `waterline_monotonic` keeps the greatest event time seen less the delay (the max is
//!   taken over all workers); `transaction_delay_with_initial_value` turns it into the
//!   watermark of the epoch (the greatest event time of the epochs *before* it, less the
//!   delay), and a second delay into the previous epoch's watermark.
//! - `controlled_key_filter` drops the late events: those whose window ended at or before the
//!   previous epoch's watermark.
//! - Each event is mapped to its `(window start, key)` group and counted by an incremental
//!   linear aggregate, `aggregate_linear_retain_keys`, whose input integral forgets a group
//!   once its window has been written (it can receive no more events); the counts' own
//!   integral is given the same retention.
//! - The counts, indexed by window start, go through the `window` operator, whose range is the
//!   window starts the epoch's watermark closes and the previous one had not: as the range
//!   moves on, it inserts the newly closed windows with their final counts (the epoch's output)
//!   and retracts the ones it wrote the epoch before, and its trace drops everything below the
//!   range.
//!
//! Outside the circuit: the transactions (one per epoch, and one without data at the end), and
//! the output's insertions labelled `key@start` and sorted for the digest. Whether that last
//! epoch is written (Spark runs it only if the watermark moved) is read from the circuit's two
//! watermarks, which it outputs.

use dbsp::dynamic::DynData;
use dbsp::utils::Tup2;
use dbsp::{OutputHandle, RootCircuit, Stream, TypedBox, ZSetHandle, ZWeight};

use super::driver::{inserted, Changes, Driver};
use crate::data::Event;
use crate::digest::Digest;
use crate::engines::windowed::{label, window_start, DELAY_MS, WINDOW_MS};
use crate::engines::EngineRun;

/// A watermark as dbsp's waterline operators carry it, ms; [`NO_WATERMARK`] before any event.
pub(super) type Watermark = TypedBox<i64, DynData>;

/// The watermark before any event has been seen: it closes no window and makes no event late.
pub(super) const NO_WATERMARK: i64 = i64::MIN;

/// An event as the circuit takes it: `(event time ms, key)`, time first so that a batch's last
/// key holds its greatest event time (what `waterline_monotonic` reads).
type TimedKey = Tup2<i64, String>;

/// The circuit's handles: the events in; the closed windows' changes out (by window start,
/// `(key, count)`); and the previous epoch's and the epoch's watermarks.
struct Handles {
    events: ZSetHandle<TimedKey>,
    closed: Changes<i64, Tup2<String, i64>>,
    watermarks: OutputHandle<(i64, i64)>,
}

/// Runs the workload over `events`, `per_epoch` an epoch, on `workers` dbsp worker threads.
pub(super) fn run(events: &[Event], per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let mut epochs: Vec<Vec<Tup2<TimedKey, ZWeight>>> = events
        .chunks(per_epoch.max(1))
        .map(|chunk| {
            chunk
                .iter()
                .map(|(key, time)| Tup2(Tup2(*time, key.clone()), 1))
                .collect()
        })
        .collect();
    let (mut driver, handles) = Driver::start(workers, |circuit| Ok(build(circuit)))?;
    let mut digest = Digest::default();
    driver.epochs(
        epochs.iter_mut(),
        |batch| {
            handles.events.append(batch);
            Ok(())
        },
        |epoch| {
            digest_closed(&mut digest, epoch, &handles.closed);
            Ok(())
        },
    )?;
    // Spark's last batch without data: written only if the last epoch moved the watermark.
    let last = epochs.len() as u64;
    driver.transaction(last)?;
    if watermark_moved(&handles.watermarks)? {
        digest_closed(&mut digest, last, &handles.closed);
    }
    driver.finish(&digest)
}

/// Builds the circuit (see the module's docs).
fn build(circuit: &mut RootCircuit) -> Handles {
    let (events, input) = circuit.add_input_zset::<TimedKey>();
    let seen: Stream<RootCircuit, Watermark> = events.waterline_monotonic(
        || NO_WATERMARK,
        |Tup2(time, _): &TimedKey| time.saturating_sub(DELAY_MS),
    );
    let (previous, watermark) = epoch_watermarks(&seen);
    let (on_time, _late) = events.controlled_key_filter(
        &previous,
        |bound: &i64, Tup2(time, _): &TimedKey| !ended_by(window_start(*time), WINDOW_MS, *bound),
        |_, Tup2(time, _): &TimedKey, _, _| *time,
    );
    let counts = on_time
        .map_index(|Tup2(time, key): &TimedKey| (Tup2(window_start(*time), key.clone()), ()))
        .aggregate_linear_retain_keys(&previous, still_open, |_: &()| 1i64);
    // The counts' integral (which the aggregate keeps to retract old counts) is the same
    // groups': a group written by an earlier epoch changes no more.
    counts.integrate_trace_retain_keys(&previous, still_open);
    let by_start = counts.map_index(|(Tup2(start, key), count)| (*start, Tup2(key.clone(), *count)));
    let closed = by_start.window((false, true), &closing_range(&previous, &watermark, WINDOW_MS));
    let watermarks = previous.apply2(&watermark, |previous: &Watermark, current: &Watermark| {
        (**previous, **current)
    });
    Handles {
        events: input,
        closed: closed.accumulate_output(),
        watermarks: watermarks.output(),
    }
}

/// The watermark of the epoch before and of the epoch, from `seen`, the greatest event time seen
/// less the delay: its value as of the end of the epoch before the previous one and of the
/// previous one.
pub(super) fn epoch_watermarks(
    seen: &Stream<RootCircuit, Watermark>,
) -> (Stream<RootCircuit, Watermark>, Stream<RootCircuit, Watermark>) {
    let current = seen.transaction_delay_with_initial_value(TypedBox::new(NO_WATERMARK));
    let previous = current.transaction_delay_with_initial_value(TypedBox::new(NO_WATERMARK));
    (previous, current)
}

/// Whether the window starting at `start`, `window_ms` long, ended at or before `watermark`.
pub(super) fn ended_by(start: i64, window_ms: i64, watermark: i64) -> bool {
    start.saturating_add(window_ms) <= watermark
}

/// Whether the `(window start, key)` group can still change: its window had not ended by the
/// previous epoch's watermark (the rule that drops late events).
fn still_open(group: &Tup2<i64, String>, previous: &i64) -> bool {
    !ended_by(group.0, WINDOW_MS, *previous)
}

/// The `window` operator's range for windows of `window_ms` (a range of window starts): the
/// windows that the epoch's watermark `current` closes and the previous one had not.
pub(super) fn closing_range(
    previous: &Stream<RootCircuit, Watermark>,
    current: &Stream<RootCircuit, Watermark>,
    window_ms: i64,
) -> Stream<RootCircuit, (Watermark, Watermark)> {
    previous.apply2(current, move |previous: &Watermark, current: &Watermark| {
        (
            TypedBox::new(last_start_ended_by(**previous, window_ms)),
            TypedBox::new(last_start_ended_by(**current, window_ms)),
        )
    })
}

/// The greatest start of a `window_ms` window that ended at or before `watermark`.
fn last_start_ended_by(watermark: i64, window_ms: i64) -> i64 {
    watermark.saturating_sub(window_ms)
}

/// Digests the windows the transaction closed, as `(key@start, count)` rows sorted by label.
fn digest_closed(digest: &mut Digest, epoch: u64, closed: &Changes<i64, Tup2<String, i64>>) {
    let mut rows: Vec<(String, i64)> = inserted(closed)
        .into_iter()
        .map(|(start, Tup2(key, count))| (label(&key, start), count))
        .collect();
    rows.sort_unstable();
    digest.epoch(epoch, rows);
}

/// Whether the last transaction's watermark differs from the one before (every worker holds
/// the same pair, the waterline's maximum over all of them).
fn watermark_moved(watermarks: &OutputHandle<(i64, i64)>) -> anyhow::Result<bool> {
    let (previous, current) = watermarks
        .take_from_worker(0)
        .ok_or_else(|| anyhow::anyhow!("the circuit wrote no watermark"))?;
    Ok(previous != current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::EVENTS_START_MS;
    use crate::engines::windowed::hashmap_loop;

    /// Checks that the circuit's digest of `events`, `per_epoch` an epoch, equals the loop's
    /// on each of `workers`.
    fn agrees_with_the_loop(events: &[crate::data::Event], per_epoch: usize, workers: &[usize]) {
        let expected = hashmap_loop(events, per_epoch).digest;
        for &workers in workers {
            let digest = run(events, per_epoch, workers).expect("runs").digest;
            assert_eq!(digest, expected, "{workers} workers");
        }
    }

    #[test]
    fn windows_agree_with_the_loop_on_1_and_2_workers() {
        let events = crate::data::events(9, 30_000, 300, DELAY_MS);
        agrees_with_the_loop(&events, 2_000, &[1, 2]);
    }

    #[test]
    fn a_late_event_changes_no_output() {
        // An event at 0 s in epoch 10, whose previous epoch's watermark is about 13 s: its
        // window [0, 10) was written by an earlier epoch, so it is late. The filter keeps it
        // out of the counts (whose state for that window is gone); the output could not show
        // it either way, since the `window` range has moved past [0, 10), so this checks only
        // that the run still equals the loop's.
        let mut events = crate::data::events(9, 30_000, 300, DELAY_MS);
        events[20_000] = ("late".to_string(), EVENTS_START_MS);
        agrees_with_the_loop(&events, 2_000, &[1, 2]);
    }

    #[test]
    fn a_last_epoch_that_does_not_move_the_watermark_writes_no_epoch_after_it() {
        // The last epoch's events are all older than the greatest before: the watermark stays,
        // and the loop writes no epoch after it.
        let mut events = crate::data::events(9, 6_000, 50, DELAY_MS);
        for (i, event) in events.iter_mut().skip(5_000).enumerate() {
            event.1 = EVENTS_START_MS + 4_000 + i as i64 % 10;
        }
        agrees_with_the_loop(&events, 1_000, &[2]);
    }
}
