//! The `sessions` workload: events counted per key and session window of event time
//! (`session_window(ts, 200 ms)`) under a watermark, in append mode: each session is written
//! once, in the epoch whose watermark has reached its end, and then forgotten.
//!
//! Every engine follows Spark's rules: an event opens `[t, t + GAP_MS)`, and a key's sessions
//! that overlap or touch merge; the watermark of epoch `e` is the greatest event time of the
//! epochs before `e` less [`DELAY_MS`]; an event whose own session ends at or before the
//! previous epoch's watermark is late (the generator's bounded disorder makes none late);
//! epoch `e` writes the sessions whose end is at or below its watermark; after the last epoch,
//! if the watermark moved, one more epoch without data writes what it closed. The output of an
//! epoch is its `(key@start-end, count)` rows sorted by label, digested per epoch.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tidewater::prelude::*;

use super::epoch_watermark::EpochWatermark;
use super::EngineRun;
use crate::data::Event;
use crate::digest::Digest;

/// The gap that ends a session, ms.
pub const GAP_MS: i64 = 200;

/// The watermark's delay, ms (the generator's bound on disorder, so no event is late).
pub const DELAY_MS: i64 = 500;

/// The label of a session's row.
fn label(key: &str, start_ms: i64, end_ms: i64) -> String {
    format!("{key}@{start_ms}-{end_ms}")
}

/// Spark's rule for sessions: an event is late when its own session ended by the previous
/// epoch's watermark.
fn is_late(watermark: &EpochWatermark, time_ms: i64) -> bool {
    watermark.ended_before(time_ms + GAP_MS)
}

/// One key's sessions by start: `(end, count)`.
type Sessions = BTreeMap<i64, (i64, i64)>;

/// Merges the session an event at `time_ms` opens into `sessions`: every session it overlaps
/// or touches joins it. Returns the merged session's `(start, end)`.
fn merge(sessions: &mut Sessions, time_ms: i64) -> (i64, i64) {
    let (mut start, mut end, mut count) = (time_ms, time_ms + GAP_MS, 1);
    let touching: Vec<i64> = sessions
        .range(..=end)
        .filter(|(_, (e, _))| *e >= time_ms)
        .map(|(s, _)| *s)
        .collect();
    for s in touching {
        if let Some((e, n)) = sessions.remove(&s) {
            start = start.min(s);
            end = end.max(e);
            count += n;
        }
    }
    sessions.insert(start, (end, count));
    (start, end)
}

/// `loop`: each key's sessions, and the sessions by end so the closed ones are found at the
/// front; an event costs a merge into its key's few sessions.
pub fn hashmap_loop(events: &[Event], per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut open: HashMap<&str, Sessions> = HashMap::new();
    let mut closing: BTreeMap<i64, Vec<(&str, i64)>> = BTreeMap::new();
    let mut watermark = EpochWatermark::new(DELAY_MS);
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    let mut emit = |epoch: u64,
                    open: &mut HashMap<&str, Sessions>,
                    closing: &mut BTreeMap<i64, Vec<(&str, i64)>>,
                    watermark: &EpochWatermark| {
        let mut rows = Vec::new();
        while let Some(entry) = closing.first_entry() {
            if !watermark.closes(*entry.key()) {
                break;
            }
            let end = *entry.key();
            for (key, start) in entry.remove() {
                let Some(sessions) = open.get_mut(key) else {
                    continue;
                };
                // Merged into a later session since, or still this one.
                if sessions.get(&start).is_some_and(|(e, _)| *e == end) {
                    if let Some((_, count)) = sessions.remove(&start) {
                        rows.push((label(key, start, end), count));
                    }
                }
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
                let (start, end) = merge(open.entry(key.as_str()).or_default(), *time);
                closing.entry(end).or_default().push((key.as_str(), start));
            }
        }
        emit(epoch as u64, &mut open, &mut closing, &watermark);
        moved = watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
        epochs = epoch + 1;
    }
    // Spark's last batch without data, when the watermark moved.
    if moved {
        emit(epochs as u64, &mut open, &mut closing, &watermark);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest.value())
}

/// `microbatch`: Spark's execution per batch: the batch's events sorted by key and time, each
/// key's stored sessions read, merged with them and written back, then, as Spark's state store
/// save in append mode, a scan of the whole store for the sessions the watermark has closed.
pub fn microbatch(events: &[Event], per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut store: HashMap<&str, Sessions> = HashMap::new();
    let mut watermark = EpochWatermark::new(DELAY_MS);
    let mut digest = Digest::default();
    let mut epoch_ms = Vec::new();
    let mut evict = |epoch: u64, store: &mut HashMap<&str, Sessions>, watermark: &EpochWatermark| {
        let mut rows = Vec::new();
        for (key, sessions) in store.iter_mut() {
            sessions.retain(|start, (end, count)| {
                let closed = watermark.closes(*end);
                if closed {
                    rows.push((label(key, *start, *end), *count));
                }
                !closed
            });
        }
        store.retain(|_, sessions| !sessions.is_empty());
        rows.sort_unstable();
        digest.epoch(epoch, rows);
    };
    let (mut epochs, mut moved) = (0, false);
    for (epoch, batch) in events.chunks(per_epoch.max(1)).enumerate() {
        let epoch_started = Instant::now();
        let mut sorted: Vec<(&str, i64)> = Vec::with_capacity(batch.len());
        for (key, time) in batch {
            watermark.saw(*time);
            if !is_late(&watermark, *time) {
                sorted.push((key.as_str(), *time));
            }
        }
        sorted.sort_unstable();
        for (key, time) in sorted {
            merge(store.entry(key).or_default(), time);
        }
        evict(epoch as u64, &mut store, &watermark);
        moved = watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
        epochs = epoch + 1;
    }
    if moved {
        evict(epochs as u64, &mut store, &watermark);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest.value())
}

/// `tidewater`: `with_watermark("ts", "500 milliseconds")`, `group_by([session_window(col("ts"),
/// "200 milliseconds"), col("key")]).count()` in append mode over a `MemoryStream`.
pub fn tidewater(events: &[Event], per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let spark = Session::builder()
        .app_name("bench-sessions")
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
            tidewater::functions::session_window(col("ts"), &format!("{GAP_MS} milliseconds")),
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
                let (start, end) = match &r[0] {
                    Value::Struct(window) => match (window.first(), window.get(1)) {
                        (Some(Value::Timestamp(s)), Some(Value::Timestamp(e))) => (s / 1000, e / 1000),
                        _ => (0, 0),
                    },
                    _ => (0, 0),
                };
                (
                    label(r[1].as_str().unwrap_or_default(), start, end),
                    r[2].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        rows.sort_unstable();
        digest.epoch(batch.id, rows);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_agree_on_every_epoch_and_merge_events_into_sessions() {
        let events = crate::data::events(5, 20_000, 300, DELAY_MS);
        let looped = hashmap_loop(&events, 2_000);
        assert_eq!(microbatch(&events, 2_000).digest, looped.digest);
        assert_eq!(tidewater(&events, 2_000, 1).unwrap().digest, looped.digest);
        assert_eq!(tidewater(&events, 2_000, 2).unwrap().digest, looped.digest);
        // Sessions merge events: fewer rows written than events closed. The digest counts rows.
        let rows: usize = looped
            .digest
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(rows > 0 && rows < events.len() / 2, "{rows} sessions");
    }
}
