//! The `windowed` workload: events counted per key in ten-second tumbling windows of event
//! time, under a watermark, in append mode: each window's counts are written once, in the epoch
//! whose watermark has passed the window's end, and then forgotten.
//!
//! Every engine follows Spark's rules: the watermark of epoch `e` is the greatest event time
//! of the epochs before `e` less [`DELAY_MS`]; an event is late, and dropped, when its window
//! ended at or before the watermark of the epoch before (the window's end decides, not the
//! event's own time);
//! epoch `e` writes the windows whose end is at or below its watermark; after the last epoch,
//! if the watermark moved, one more epoch without data writes the windows it has closed. The output
//! of an epoch is its `(key@window start, count)` rows sorted by label, digested per epoch.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tidewater::prelude::*;

use super::epoch_watermark::EpochWatermark;
use super::EngineRun;
use crate::data::Event;
use crate::digest::Digest;

/// The windows' length, ms.
pub const WINDOW_MS: i64 = 10_000;

/// The watermark's delay, ms (the generator's bound on disorder, so no event is late).
pub const DELAY_MS: i64 = 5_000;

/// The label of a window's row: `key@start` (start in ms).
pub(super) fn label(key: &str, start_ms: i64) -> String {
    format!("{key}@{start_ms}")
}

/// The start of the window holding `time_ms`, ms.
pub(super) fn window_start(time_ms: i64) -> i64 {
    time_ms - time_ms.rem_euclid(WINDOW_MS)
}

/// Spark's rule for windows: an event is late when its window ended by the previous epoch's
/// watermark.
fn is_late(watermark: &EpochWatermark, time_ms: i64) -> bool {
    watermark.ended_before(window_start(time_ms) + WINDOW_MS)
}

/// Whether the window starting at `start_ms` is closed by the epoch's watermark.
fn closes(watermark: &EpochWatermark, start_ms: i64) -> bool {
    watermark.closes(start_ms + WINDOW_MS)
}

/// `loop`: the counts of the open windows by window start, so the closed ones are split off
/// the front; each event costs one hash-map update.
pub fn hashmap_loop(events: &[Event], per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut open: BTreeMap<i64, HashMap<&str, i64>> = BTreeMap::new();
    let mut watermark = EpochWatermark::new(DELAY_MS);
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    let mut emit = |epoch: u64, open: &mut BTreeMap<i64, HashMap<&str, i64>>, watermark: &EpochWatermark| {
        let mut rows = Vec::new();
        while let Some((&start, _)) = open.first_key_value() {
            if !closes(watermark, start) {
                break;
            }
            if let Some((start, counts)) = open.pop_first() {
                rows.extend(counts.into_iter().map(|(key, n)| (label(key, start), n)));
            }
        }
        rows.sort_unstable();
        digest.epoch(epoch, rows);
    };
    let (mut epochs, mut moved) = (0, false);
    for (epoch, chunk) in events.chunks(per_epoch.max(1)).enumerate() {
        let epoch_started = Instant::now();
        for (key, time) in chunk {
            watermark.saw(*time);
            if !is_late(&watermark, *time) {
                *open
                    .entry(window_start(*time))
                    .or_default()
                    .entry(key.as_str())
                    .or_insert(0) += 1;
            }
        }
        emit(epoch as u64, &mut open, &watermark);
        moved = watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
        epochs = epoch + 1;
    }
    // Spark's last batch without data, when the watermark moved.
    if moved {
        emit(epochs as u64, &mut open, &watermark);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest.value())
}

/// `microbatch`: Spark's execution per batch: a hash aggregation of the batch (late events
/// filtered), a read-modify-write of the state store for each of its `(key, window)` groups,
/// then, as Spark's `StateStoreSaveExec` in append mode, a scan of the whole store for the
/// groups the watermark has closed, which are written and removed.
pub fn microbatch(events: &[Event], per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut store: HashMap<(&str, i64), i64> = HashMap::new();
    let mut partial: HashMap<(&str, i64), i64> = HashMap::new();
    let mut watermark = EpochWatermark::new(DELAY_MS);
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    let mut evict = |epoch: u64, store: &mut HashMap<(&str, i64), i64>, watermark: &EpochWatermark| {
        let closed: Vec<(&str, i64)> = store
            .keys()
            .filter(|(_, s)| closes(watermark, *s))
            .copied()
            .collect();
        let mut rows: Vec<(String, i64)> = closed
            .into_iter()
            .filter_map(|k| store.remove(&k).map(|n| (label(k.0, k.1), n)))
            .collect();
        rows.sort_unstable();
        digest.epoch(epoch, rows);
    };
    let (mut epochs, mut moved) = (0, false);
    for (epoch, batch) in events.chunks(per_epoch.max(1)).enumerate() {
        let epoch_started = Instant::now();
        partial.clear();
        for (key, time) in batch {
            watermark.saw(*time);
            if !is_late(&watermark, *time) {
                *partial.entry((key.as_str(), window_start(*time))).or_insert(0) += 1;
            }
        }
        for (group, n) in &partial {
            let total = store.get(group).copied().unwrap_or(0) + n;
            store.insert(*group, total);
        }
        evict(epoch as u64, &mut store, &watermark);
        moved = watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
        epochs = epoch + 1;
    }
    // Spark's last batch without data, when the watermark moved.
    if moved {
        evict(epochs as u64, &mut store, &watermark);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest.value())
}

/// `tidewater`: `with_watermark("ts", "5 seconds")`, `group_by([window(col("ts"), "10
/// seconds"), col("key")]).count()` in append mode over a `MemoryStream`.
pub fn tidewater(events: &[Event], per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let spark = Session::builder()
        .app_name("bench-windowed")
        .workers(workers)
        .get_or_create()?;
    let input = MemoryStream::new(Schema::new([
        Field::new("key", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ]));
    let counts = spark
        .read_stream()
        .memory(&input)
        .with_watermark("ts", &format!("{DELAY_MS} milliseconds"))?
        .group_by([
            window(col("ts"), &format!("{WINDOW_MS} milliseconds")),
            col("key"),
        ])
        .count()?;
    let rows: Vec<Row> = events
        .iter()
        .map(|(key, ms)| Row::from(vec![Value::str(key), Value::Timestamp(ms * 1000)]))
        .collect();
    super::tidewater::run_over_memory(&input, rows, &counts, "append", per_epoch, |batch, digest| {
        let mut rows: Vec<(String, i64)> = batch
            .rows
            .iter()
            .map(|r| {
                let start = match &r[0] {
                    Value::Struct(window) => match window.first() {
                        Some(Value::Timestamp(micros)) => micros / 1000,
                        _ => 0,
                    },
                    _ => 0,
                };
                (
                    label(r[1].as_str().unwrap_or_default(), start),
                    r[2].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        rows.sort_unstable();
        digest.epoch(batch.id, rows);
    })
}

/// `spark`: `bench/spark/windowed.py`, the same query in PySpark (`withWatermark`,
/// `groupBy(window(..), key).count()`, append mode), one file of `key,ts_ms` lines per epoch.
pub fn spark(
    events: &[Event],
    per_epoch: usize,
    workers: usize,
    shuffle_partitions: usize,
) -> anyhow::Result<EngineRun> {
    super::spark::windowed(
        events,
        per_epoch,
        super::spark::SparkConfig {
            workers,
            shuffle_partitions,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::EVENTS_START_MS;

    #[test]
    fn engines_agree_and_late_events_are_dropped() {
        let events = crate::data::events(9, 30_000, 300, DELAY_MS);
        let looped = hashmap_loop(&events, 2_000);
        assert_eq!(microbatch(&events, 2_000).digest, looped.digest);
        assert_eq!(tidewater(&events, 2_000, 1).unwrap().digest, looped.digest);
        assert_eq!(tidewater(&events, 2_000, 2).unwrap().digest, looped.digest);
        // 30 s of events, watermark at the end about 25 s: [0, 10) and [10, 20) are written,
        // one row per key and window (the digest counts its rows), [20, 30) stays open.
        let written: std::collections::BTreeSet<(&str, i64)> = events
            .iter()
            .filter(|(_, t)| *t < EVENTS_START_MS + 20_000)
            .map(|(k, t)| (k.as_str(), window_start(*t)))
            .collect();
        assert!(
            looped.digest.ends_with(&format!("/{}", written.len())),
            "{}",
            looped.digest
        );
        // An event whose window has ended (at 0 s, in epoch 10, whose watermark is about 15 s,
        // past [0, 10)'s end) is dropped by every engine: its `late@0` row is not written.
        let mut with_late = events.clone();
        with_late[20_000] = ("late".to_string(), EVENTS_START_MS);
        let written: std::collections::BTreeSet<(&str, i64)> = with_late
            .iter()
            .filter(|(k, t)| *t < EVENTS_START_MS + 20_000 && k != "late")
            .map(|(k, t)| (k.as_str(), window_start(*t)))
            .collect();
        let looped = hashmap_loop(&with_late, 2_000);
        assert!(
            looped.digest.ends_with(&format!("/{}", written.len())),
            "{}",
            looped.digest
        );
        assert_eq!(microbatch(&with_late, 2_000).digest, looped.digest);
        assert_eq!(tidewater(&with_late, 2_000, 2).unwrap().digest, looped.digest);
    }
}
