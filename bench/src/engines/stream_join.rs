//! The `stream_join` workload: ad impressions LEFT OUTER JOIN clicks within a second, both
//! streams under ten-second watermarks (Spark's stream-stream join).
//!
//! Impression `i` is shown at about `i` ms (up to [`DISORDER_MS`] early) for ad `i * 7919 mod
//! vocabulary`; every third impression draws a click of the same ad 0 to 1.5 s after it (a
//! third of those come too late to count). Every engine follows Spark's rules: the watermark is
//! the least over the two streams of (greatest event time of the earlier epochs less
//! [`DELAY_MS`]); a pair is `click_ts BETWEEN imp_ts AND imp_ts + 1 s` with the same ad; an
//! impression is forgotten once `imp_ts + 1 s < watermark` (written with nulls if nothing
//! matched it), a click once `click_ts < watermark`; one epoch without data ends the run. No
//! event is late (the disorder is below the delay), so the output is the same whatever the
//! epochs: its rows `(ad@imp_ts, click_ts or -1)`, sorted, are digested as one epoch. The
//! state each engine holds stays bounded however long the streams run.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use tidewater::functions::interval;
use tidewater::prelude::*;

use super::EngineRun;
use crate::digest::Digest;

/// The watermarks' delay, ms.
pub const DELAY_MS: i64 = 10_000;

/// How early an impression may arrive, ms (below the delay: nothing is late).
pub const DISORDER_MS: i64 = 3_000;

/// A click counts within this long after its impression, ms.
const WITHIN_MS: i64 = 1_000;

/// `(ad, time ms)`.
pub type Event = (i64, i64);

/// The impressions and, per impression index, its click (if it drew one).
pub struct Streams {
    /// `(ad, shown at)`, in arrival order.
    pub impressions: Vec<Event>,
    /// `(ad, clicked at)`, in arrival order (a click arrives with its impression).
    pub clicks: Vec<Option<Event>>,
}

/// `records` impressions over `vocabulary` ads, deterministic for `seed`.
pub fn streams(seed: u64, records: usize, vocabulary: usize) -> Streams {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let vocabulary = vocabulary.max(1) as i64;
    let mut impressions = Vec::with_capacity(records);
    let mut clicks = Vec::with_capacity(records);
    for i in 0..records as i64 {
        let ad = (i * 7919).rem_euclid(vocabulary);
        let shown = crate::data::EVENTS_START_MS + i - (next() % DISORDER_MS as u64) as i64;
        impressions.push((ad, shown));
        clicks.push((i % 3 == 0).then(|| (ad, shown + (next() % 1_500) as i64)));
    }
    Streams { impressions, clicks }
}

/// Spark's global watermark over the two streams.
#[derive(Default)]
struct Watermark {
    impressions: Option<i64>,
    clicks: Option<i64>,
    current: Option<i64>,
}

impl Watermark {
    fn advance(&mut self) {
        if let (Some(i), Some(c)) = (self.impressions, self.clicks) {
            let least = i.min(c) - DELAY_MS;
            self.current = Some(self.current.map_or(least, |w| w.max(least)));
        }
    }
}

fn saw(max: &mut Option<i64>, time: i64) {
    *max = Some(max.map_or(time, |m| m.max(time)));
}

fn matches(imp: Event, click: Event) -> bool {
    imp.0 == click.0 && imp.1 <= click.1 && click.1 <= imp.1 + WITHIN_MS
}

fn label(imp: Event) -> String {
    format!("{}@{}", imp.0, imp.1)
}

/// The epochs of a run: per epoch, its impressions and its clicks.
fn epochs(streams: &Streams, per_epoch: usize) -> Vec<(Vec<Event>, Vec<Event>)> {
    streams
        .impressions
        .chunks(per_epoch.max(1))
        .zip(streams.clicks.chunks(per_epoch.max(1)))
        .map(|(imps, clicks)| (imps.to_vec(), clicks.iter().flatten().copied().collect()))
        .collect()
}

/// The digest of the output rows, sorted.
fn digest_of(mut rows: Vec<(String, i64)>) -> String {
    rows.sort_unstable();
    let mut digest = Digest::default();
    digest.epoch(0, rows);
    digest.value()
}

/// `loop`: per ad, the impressions held (with whether each matched) and the clicks held; each
/// side also indexed by time, so what the watermark expires is split off the front.
pub fn hashmap_loop(streams: &Streams, per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut imps: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
    let mut clicks: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut imps_by_time: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut clicks_by_time: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut watermark = Watermark::default();
    let mut rows = Vec::new();
    let mut epoch_ms = Vec::new();
    let mut batches = epochs(streams, per_epoch);
    batches.push((Vec::new(), Vec::new()));
    for (epoch_imps, epoch_clicks) in batches {
        let epoch_started = Instant::now();
        for &(ad, t) in &epoch_imps {
            let mut matched = false;
            for &c in clicks.get(&ad).into_iter().flatten() {
                if matches((ad, t), (ad, c)) {
                    rows.push((label((ad, t)), c));
                    matched = true;
                }
            }
            imps.entry(ad).or_default().push((t, matched));
            imps_by_time.entry(t).or_default().push(ad);
        }
        for &(ad, c) in &epoch_clicks {
            for (t, matched) in imps.get_mut(&ad).into_iter().flatten() {
                if matches((ad, *t), (ad, c)) {
                    rows.push((label((ad, *t)), c));
                    *matched = true;
                }
            }
            clicks.entry(ad).or_default().push(c);
            clicks_by_time.entry(c).or_default().push(ad);
        }
        if let Some(w) = watermark.current {
            // Impressions with imp_ts + 1 s < w, clicks with click_ts < w.
            let kept = imps_by_time.split_off(&(w - WITHIN_MS));
            for (t, ads) in std::mem::replace(&mut imps_by_time, kept) {
                for ad in ads {
                    if let Some(held) = imps.get_mut(&ad) {
                        held.retain(|&(time, matched)| {
                            if time != t {
                                return true;
                            }
                            if !matched {
                                rows.push((label((ad, t)), -1));
                            }
                            false
                        });
                        if held.is_empty() {
                            imps.remove(&ad);
                        }
                    }
                }
            }
            let kept = clicks_by_time.split_off(&w);
            for (c, ads) in std::mem::replace(&mut clicks_by_time, kept) {
                for ad in ads {
                    if let Some(held) = clicks.get_mut(&ad) {
                        held.retain(|&time| time != c);
                        if held.is_empty() {
                            clicks.remove(&ad);
                        }
                    }
                }
            }
        }
        for &(_, t) in &epoch_imps {
            saw(&mut watermark.impressions, t);
        }
        for &(_, c) in &epoch_clicks {
            saw(&mut watermark.clicks, c);
        }
        watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest_of(rows))
}

/// `microbatch`: Spark's execution per batch: each side's new rows joined with the other
/// side's state store (a map per ad), appended to their own, then a scan of both whole stores
/// for the rows the watermark expired (Spark's `removeOldState`).
pub fn microbatch(streams: &Streams, per_epoch: usize) -> EngineRun {
    let started = Instant::now();
    let mut imps: HashMap<i64, Vec<(i64, bool)>> = HashMap::new();
    let mut clicks: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut watermark = Watermark::default();
    let mut rows = Vec::new();
    let mut epoch_ms = Vec::new();
    let mut batches = epochs(streams, per_epoch);
    batches.push((Vec::new(), Vec::new()));
    for (epoch_imps, epoch_clicks) in batches {
        let epoch_started = Instant::now();
        for &(ad, t) in &epoch_imps {
            let matched: Vec<i64> = clicks
                .get(&ad)
                .into_iter()
                .flatten()
                .copied()
                .filter(|&c| matches((ad, t), (ad, c)))
                .collect();
            rows.extend(matched.iter().map(|&c| (label((ad, t)), c)));
            imps.entry(ad).or_default().push((t, !matched.is_empty()));
        }
        for &(ad, c) in &epoch_clicks {
            for (t, matched) in imps.get_mut(&ad).into_iter().flatten() {
                if matches((ad, *t), (ad, c)) {
                    rows.push((label((ad, *t)), c));
                    *matched = true;
                }
            }
            clicks.entry(ad).or_default().push(c);
        }
        if let Some(w) = watermark.current {
            imps.retain(|&ad, held| {
                held.retain(|&(t, matched)| {
                    if t + WITHIN_MS >= w {
                        return true;
                    }
                    if !matched {
                        rows.push((label((ad, t)), -1));
                    }
                    false
                });
                !held.is_empty()
            });
            clicks.retain(|_, held| {
                held.retain(|&c| c >= w);
                !held.is_empty()
            });
        }
        for &(_, t) in &epoch_imps {
            saw(&mut watermark.impressions, t);
        }
        for &(_, c) in &epoch_clicks {
            saw(&mut watermark.clicks, c);
        }
        watermark.advance();
        epoch_ms.push(epoch_started.elapsed().as_secs_f64() * 1e3);
    }
    EngineRun::measured(started.elapsed().as_secs_f64(), epoch_ms, digest_of(rows))
}

/// `tidewater`: two `MemoryStream`s under `with_watermark(.., "10 seconds")`, joined with
/// `join_expr(.., "left")` on the ad and a one-second range, append mode; each epoch's rows are
/// added to both streams before it runs.
pub fn tidewater(streams: &Streams, per_epoch: usize, workers: usize) -> anyhow::Result<EngineRun> {
    let spark = Session::builder()
        .app_name("bench-stream-join")
        .workers(workers)
        .get_or_create()?;
    let schema = |ad: &str, time: &str| {
        Schema::new([
            Field::new(ad, DataType::Int64),
            Field::new(time, DataType::Timestamp),
        ])
    };
    let imps_in = MemoryStream::new(schema("ad", "imp_ts"));
    let clicks_in = MemoryStream::new(schema("click_ad", "click_ts"));
    let delay = format!("{DELAY_MS} milliseconds");
    let joined = spark
        .read_stream()
        .memory(&imps_in)
        .with_watermark("imp_ts", &delay)?
        .join_expr(
            &spark
                .read_stream()
                .memory(&clicks_in)
                .with_watermark("click_ts", &delay)?,
            col("ad")
                .eq(col("click_ad"))
                .and(col("click_ts").gt_eq(col("imp_ts")))
                .and(col("click_ts").lt_eq(col("imp_ts") + interval(&format!("{WITHIN_MS} milliseconds")))),
            "left",
        )?;
    let rows = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = rows.clone();
    let micros = |v: &Value| match v {
        Value::Timestamp(t) => t / 1000,
        _ => -1,
    };
    let started = Instant::now();
    let query = joined
        .write_stream()
        .output_mode("append")
        .foreach_batch(move |batch: &Batch<'_>| -> anyhow::Result<()> {
            let mut rows = sink.lock().map_err(|_| anyhow::anyhow!("rows lock"))?;
            for r in batch.rows {
                let ad = r[0].as_i64().unwrap_or_default();
                rows.push((label((ad, micros(&r[1]))), micros(&r[3])));
            }
            Ok(())
        })
        .start()?;
    let at = |(ad, t): Event| Row::from(vec![Value::Int(ad), Value::Timestamp(t * 1000)]);
    for (imps, clicks) in epochs(streams, per_epoch) {
        imps_in.add_data(imps.into_iter().map(at).collect::<Vec<_>>());
        clicks_in.add_data(clicks.into_iter().map(at).collect::<Vec<_>>());
        query.process_all_available()?;
    }
    imps_in.end();
    clicks_in.end();
    query.await_termination()?;
    let seconds = started.elapsed().as_secs_f64();
    let epoch_ms = query
        .recent_progress()
        .iter()
        .map(|p| p.duration_ms.get("triggerExecution").copied().unwrap_or(0) as f64)
        .collect();
    let held = query
        .recent_progress()
        .iter()
        .filter_map(|p| p.state_operators.first().map(|s| s.num_rows_total))
        .max()
        .unwrap_or(0);
    eprintln!("stream_join: at most {held} rows held in the state over the last 100 epochs");
    let rows = std::mem::take(&mut *rows.lock().map_err(|_| anyhow::anyhow!("rows lock"))?);
    Ok(EngineRun::measured(seconds, epoch_ms, digest_of(rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_agree_and_unclicked_impressions_are_written_once() {
        let streams = streams(3, 20_000, 500);
        let looped = hashmap_loop(&streams, 2_000);
        assert_eq!(microbatch(&streams, 2_000).digest, looped.digest);
        assert_eq!(tidewater(&streams, 2_000, 1).unwrap().digest, looped.digest);
        assert_eq!(tidewater(&streams, 2_000, 2).unwrap().digest, looped.digest);
        // A nested loop over all rows: pairs, and impressions without a click that ended more
        // than a second before the final watermark.
        let clicks: Vec<Event> = streams.clicks.iter().flatten().copied().collect();
        let last = |events: &mut dyn Iterator<Item = i64>| events.max().unwrap_or(0);
        let watermark = last(&mut streams.impressions.iter().map(|e| e.1))
            .min(last(&mut clicks.iter().map(|e| e.1)))
            - DELAY_MS;
        let mut rows = 0;
        for &imp in &streams.impressions {
            let n = clicks.iter().filter(|&&c| matches(imp, c)).count();
            rows += if n == 0 {
                usize::from(imp.1 + WITHIN_MS < watermark)
            } else {
                n
            };
        }
        assert!(looped.digest.ends_with(&format!("/{rows}")), "{}", looped.digest);
    }
}
