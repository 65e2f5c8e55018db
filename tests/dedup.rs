//! Deduplication over streams, as Spark's `dropDuplicates`, `dropDuplicatesWithinWatermark`
//! and `distinct()`: the first row of each key, in the order the source gave them, whatever the
//! number of workers; under a watermark late rows are dropped and keys forgotten as Spark
//! forgets them. Every expected answer is worked out in the test by a simple model of Spark's
//! rules, never taken from a run.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::*;
use tidewater::prelude::*;

/// 2026-01-01 00:00:00 UTC, in microseconds.
const T0: i64 = 1_767_225_600_000_000;
const SECOND: i64 = 1_000_000;

fn schema() -> Schema {
    Schema::new([
        Field::new("user", DataType::String),
        Field::new("page", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ])
}

/// Pseudo-random epochs of `(user, page, seconds)` visits: few users, so keys repeat within and
/// across epochs; times grow by about 4 s an epoch, with some disorder and, now and then, a
/// visit 30 s older than its epoch.
fn visits(seed: u64, epochs: usize) -> Vec<Vec<(String, String, i64)>> {
    let mut rng = Seeded::new(seed);
    (0..epochs)
        .map(|e| {
            (0..8)
                .map(|_| {
                    let user = format!("u{}", rng.below(6));
                    let page = ["home", "shop", "cart"][rng.below(3) as usize].to_string();
                    let mut s = 4 * e as i64 + rng.below(6) as i64;
                    if rng.below(8) == 0 {
                        s = (s - 30).max(0);
                    }
                    (user, page, s)
                })
                .collect()
        })
        .collect()
}

fn rows(epoch: &[(String, String, i64)]) -> Vec<Row> {
    epoch
        .iter()
        .map(|(u, p, s)| row![u.as_str(), p.as_str(), Value::Timestamp(T0 + s * SECOND)])
        .collect()
}

/// The rows of every batch, each batch sorted.
fn batches(ran: &Ran) -> Vec<Vec<Row>> {
    ran.batch_rows()
        .into_iter()
        .map(|mut rows| {
            rows.sort();
            rows
        })
        .collect()
}

/// How a model key is made from a visit.
type KeyOf = fn(&(String, String, i64)) -> String;

/// Spark's rules, epoch by epoch, for a deduplication by `key_of`:
/// - the watermark of epoch `e` is the greatest time of the epochs before it less `delay`
///   (none without a watermark); a visit at or before the previous epoch's watermark is late
///   and dropped. Keys that expire make an epoch without data run whenever the watermark
///   moves, so the epoch before a data epoch ran under the same watermark (`expiring`);
///   otherwise it is the previous data epoch;
/// - a key not remembered lets its first visit (in input order) through, and is remembered
///   until `until(visit)` (never forgotten when `None`);
/// - at the end of the epoch the keys whose time the watermark has reached are forgotten.
fn model(
    epochs: &[Vec<(String, String, i64)>],
    key_of: KeyOf,
    delay: Option<i64>,
    until: impl Fn(&(String, String, i64)) -> Option<i64>,
    expiring: bool,
) -> Vec<Vec<Row>> {
    let mut remembered: BTreeMap<String, Option<i64>> = BTreeMap::new();
    let mut max: Option<i64> = None;
    let mut previous: Option<i64> = None;
    epochs
        .iter()
        .map(|epoch| {
            let watermark = delay.and_then(|d| max.map(|m| m - d));
            let before = std::mem::replace(&mut previous, watermark);
            let late = if expiring { watermark } else { before };
            let mut out = Vec::new();
            for visit in epoch {
                if late.is_some_and(|w| visit.2 <= w) {
                    continue;
                }
                let key = key_of(visit);
                if remembered.contains_key(&key) {
                    continue;
                }
                remembered.insert(key, until(visit));
                out.push(visit.clone());
            }
            remembered.retain(|_, u| u.is_none_or(|u| watermark.is_none_or(|w| u > w)));
            max = epoch.iter().map(|v| v.2).chain(max).max();
            let mut out = rows(&out);
            out.sort();
            out
        })
        .collect()
}

fn session(workers: usize) -> Session {
    Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session")
}

#[test]
fn the_first_row_of_each_key_wins_whatever_the_number_of_workers() {
    let epochs = visits(1, 6);
    let expected = model(&epochs, |v| v.0.clone(), None, |_| None, false);
    assert!(
        expected.iter().map(Vec::len).sum::<usize>() < epochs.iter().map(Vec::len).sum(),
        "the input repeats keys"
    );
    for workers in [1, 2, 4] {
        let input = MemoryStream::new(schema());
        let first = session(workers)
            .read_stream()
            .memory(&input)
            .drop_duplicates(&["user"])
            .expect("plan");
        let ran = run_to_end(
            first.write_stream(),
            Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
        );
        assert_eq!(batches(&ran), expected, "{workers} worker(s)");
        // Spark's state operator figures: every key let through is held, none forgotten.
        let dedupe = state_operator_figures(&ran.query, "dedupe");
        let written: usize = expected.iter().map(Vec::len).sum();
        let last = dedupe.last().expect("a dedupe operator in the progress");
        assert_eq!(last.num_rows_total, written as u64, "{workers} worker(s)");
        let updated: u64 = dedupe.iter().map(|s| s.num_rows_updated).sum();
        assert_eq!(updated, written as u64, "{workers} worker(s)");
    }
}

#[test]
fn distinct_keeps_each_whole_row_once() {
    let epochs: Vec<Vec<(String, String, i64)>> = visits(2, 5)
        .into_iter()
        .map(|e| e.into_iter().map(|(u, p, _)| (u, p, 0)).collect())
        .collect();
    let expected = model(&epochs, |v| format!("{}|{}", v.0, v.1), None, |_| None, false);
    for workers in [1, 2] {
        let input = MemoryStream::new(schema());
        let distinct = session(workers)
            .read_stream()
            .memory(&input)
            .distinct()
            .expect("plan");
        let ran = run_to_end(
            distinct.write_stream(),
            Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
        );
        assert_eq!(batches(&ran), expected, "{workers} worker(s)");
        let all: HashSet<Row> = ran.rows().into_iter().collect();
        assert_eq!(all.len(), ran.rows().len(), "no row twice");
    }
}

#[test]
fn under_a_watermark_late_rows_are_dropped_and_keys_with_the_event_time_are_forgotten() {
    // Keyed by (user, ts): a key is forgotten once the watermark passes its time, and a visit
    // at or before the watermark is late.
    let epochs = visits(3, 10);
    let expected = model(
        &epochs,
        |v| format!("{}|{}", v.0, v.2),
        Some(5),
        |v| Some(v.2),
        true,
    );
    for workers in [1, 2] {
        let input = MemoryStream::new(schema());
        let first = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .and_then(|df| df.drop_duplicates(&["user", "ts"]))
            .expect("plan");
        let ran = run_to_end(
            first.write_stream(),
            Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
        );
        // No-data epochs may follow data ones; they write nothing.
        let written: Vec<Vec<Row>> = batches(&ran).into_iter().filter(|b| !b.is_empty()).collect();
        let wanted: Vec<Vec<Row>> = expected.iter().filter(|b| !b.is_empty()).cloned().collect();
        assert_eq!(written, wanted, "{workers} worker(s)");
        let dropped = ran.dropped_by_watermark();
        assert!(dropped > 0, "the input has late visits");
    }
}

#[test]
fn within_the_watermark_a_key_comes_back_once_its_time_plus_the_delay_has_passed() {
    let epochs = visits(4, 12);
    let delay = 5;
    let expected = model(&epochs, |v| v.0.clone(), Some(delay), |v| Some(v.2 + delay), true);
    let again = {
        let mut seen = HashSet::new();
        expected
            .iter()
            .flatten()
            .filter(|r| !seen.insert(r[0].clone()))
            .count()
    };
    assert!(again > 0, "some user comes out twice");
    for workers in [1, 2] {
        let input = MemoryStream::new(schema());
        let first = session(workers)
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .and_then(|df| df.drop_duplicates_within_watermark(&["user"]))
            .expect("plan");
        let ran = run_to_end(
            first.write_stream(),
            Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
        );
        let written: Vec<Vec<Row>> = batches(&ran).into_iter().filter(|b| !b.is_empty()).collect();
        let wanted: Vec<Vec<Row>> = expected.iter().filter(|b| !b.is_empty()).cloned().collect();
        assert_eq!(written, wanted, "{workers} worker(s)");
    }
}

#[test]
fn deduplicating_within_the_watermark_needs_one() {
    let spark = session(1);
    let input = MemoryStream::new(schema());
    let error = spark
        .read_stream()
        .memory(&input)
        .drop_duplicates_within_watermark(&["user"])
        .expect_err("no watermark");
    assert_eq!(error.code(), "INVALID_PLAN", "{error}");
    let unknown = spark
        .read_stream()
        .memory(&input)
        .drop_duplicates(&["nobody"])
        .expect_err("no such column");
    assert_eq!(unknown.code(), "UNRESOLVED_COLUMN", "{unknown}");
}

#[test]
fn a_deduplication_under_an_aggregation_counts_each_key_once() {
    // Distinct users per page: the aggregation counts the deduplicated rows.
    let epochs = visits(5, 6);
    let firsts = model(&epochs, |v| format!("{}|{}", v.0, v.1), None, |_| None, false);
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for row in firsts.iter().flatten() {
        *expected
            .entry(row[1].as_str().expect("page").to_string())
            .or_default() += 1;
    }
    for workers in [1, 2] {
        let input = MemoryStream::new(schema());
        let users = session(workers)
            .read_stream()
            .memory(&input)
            .drop_duplicates(&["user", "page"])
            .and_then(|df| df.group_by([col("page")]).count())
            .expect("plan");
        let ran = run_to_end(
            users.write_stream().output_mode("complete"),
            Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
        );
        let last = ran.batch_rows().pop().expect("a batch");
        assert_eq!(counts_of(&last), expected, "{workers} worker(s)");
    }
}

#[test]
fn a_restarted_deduplication_remembers_its_keys_and_counts_them() {
    let checkpoint = tempfile::tempdir().expect("temporary directory");
    let location = checkpoint.path().to_str().expect("path").to_string();
    let input = MemoryStream::new(schema());
    let run = |workers: usize, rows: Vec<Row>| {
        let first = session(workers)
            .read_stream()
            .memory(&input)
            .drop_duplicates(&["user"])
            .expect("plan");
        let collected = Collected::default();
        let query = collected
            .attach(
                first
                    .write_stream()
                    .option("checkpointLocation", location.as_str()),
            )
            .start()
            .expect("start");
        input.add_data(rows);
        query.process_all_available().expect("epoch");
        query.stop().expect("stop");
        let held = query
            .last_progress()
            .and_then(|p| {
                p.state_operators
                    .iter()
                    .find(|s| s.operator_name == "dedupe")
                    .cloned()
            })
            .map(|s| s.num_rows_total);
        (collected.batches(), held)
    };
    let visit = |user: &str, s: i64| (user.to_string(), "home".to_string(), s);
    let (before, held) = run(2, rows(&[visit("ann", 1), visit("bob", 2), visit("ann", 3)]));
    assert_eq!(before.iter().map(|(_, r)| r.len()).sum::<usize>(), 2);
    assert_eq!(held, Some(2));
    // After the restart, on one worker: ann and bob are remembered, cy is new.
    let (after, held) = run(1, rows(&[visit("bob", 4), visit("cy", 5)]));
    let written: Vec<Row> = after.into_iter().flat_map(|(_, r)| r).collect();
    assert_eq!(written, rows(&[visit("cy", 5)]));
    assert_eq!(held, Some(3), "the restored keys are counted");
}
