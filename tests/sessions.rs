//! Session windows, as Spark's `session_window(ts, gap)`: a row opens `[ts, ts + gap)`, the
//! sessions of a key that overlap or touch merge, append mode writes a session once the
//! watermark reaches its end, and complete mode keeps every session. Expected sessions are
//! built in the test from the input by sorting each key's times, never taken from a run.

mod common;

use std::collections::BTreeMap;

use common::*;
use tidewater::prelude::*;

/// 2026-01-01 00:00:00 UTC, in microseconds.
const T0: i64 = 1_767_225_600_000_000;
const SECOND: i64 = 1_000_000;
const GAP: i64 = 5;
const DELAY: i64 = 5;

fn schema() -> Schema {
    Schema::new([
        Field::new("user", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ])
}

/// Epoch `e` holds clicks of four users at `10 e` to `10 e + 8` seconds; from epoch 2 on,
/// now and then one 40 s older, which a watermark makes late (its session ended long before).
fn clicks(seed: u64, epochs: usize) -> Vec<Vec<(String, i64)>> {
    let mut rng = Seeded::new(seed);
    (0..epochs as i64)
        .map(|e| {
            let mut epoch: Vec<(String, i64)> = (0..6)
                .map(|_| (format!("u{}", rng.below(4)), 10 * e + rng.below(9) as i64))
                .collect();
            if e >= 2 && rng.below(2) == 0 {
                epoch.push((format!("u{}", rng.below(4)), 10 * e - 40));
            }
            epoch
        })
        .collect()
}

fn rows(epoch: &[(String, i64)]) -> Vec<Row> {
    epoch
        .iter()
        .map(|(u, s)| row![u.as_str(), Value::Timestamp(T0 + s * SECOND)])
        .collect()
}

/// A session row as the query writes it: `(user, start s, end s, count)`.
type SessionRow = (String, i64, i64, i64);

/// Each user's sessions over `clicks`: times sorted, a click joining the session whose end
/// (the last click plus the gap) it reaches, inclusive.
fn sessions_of(clicks: impl IntoIterator<Item = (String, i64)>) -> Vec<SessionRow> {
    let mut by_user: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (user, t) in clicks {
        by_user.entry(user).or_default().push(t);
    }
    let mut sessions = Vec::new();
    for (user, mut times) in by_user {
        times.sort();
        let mut current: Option<(i64, i64, i64)> = None;
        for t in times {
            current = match current {
                Some((start, end, n)) if t <= end => Some((start, end.max(t + GAP), n + 1)),
                Some((start, end, n)) => {
                    sessions.push((user.clone(), start, end, n));
                    Some((t, t + GAP, 1))
                }
                None => Some((t, t + GAP, 1)),
            };
        }
        if let Some((start, end, n)) = current {
            sessions.push((user.clone(), start, end, n));
        }
    }
    sessions.sort();
    sessions
}

fn session_rows(rows: &[Row]) -> Vec<SessionRow> {
    let mut out: Vec<SessionRow> = rows
        .iter()
        .map(|r| {
            let Value::Struct(window) = &r[1] else {
                panic!("a session window: {r:?}");
            };
            let (Value::Timestamp(start), Value::Timestamp(end)) = (&window[0], &window[1]) else {
                panic!("a window of two timestamps: {r:?}");
            };
            let user = r[0].as_str().expect("user").to_string();
            (
                user,
                (start - T0) / SECOND,
                (end - T0) / SECOND,
                r[2].as_i64().expect("count"),
            )
        })
        .collect();
    out.sort();
    out
}

fn counted(workers: usize, mode: &str, watermark: bool, epochs: &[Vec<(String, i64)>]) -> Ran {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(schema());
    let mut clicks = spark.read_stream().memory(&input);
    if watermark {
        clicks = clicks.with_watermark("ts", "5 seconds").expect("watermark");
    }
    let counts = clicks
        .group_by([col("user"), session_window(col("ts"), "5 seconds")])
        .count()
        .expect("plan");
    assert_eq!(
        counts.schema().names(),
        vec![
            "user".to_string(),
            "session_window".to_string(),
            "count".to_string()
        ]
    );
    run_to_end(
        counts.write_stream().output_mode(mode),
        Feed::Epochs(&input, epochs.iter().map(|e| rows(e)).collect()),
    )
}

#[test]
fn append_mode_writes_each_session_once_when_the_watermark_reaches_its_end() {
    let epochs = clicks(1, 8);
    // Late clicks (40 s old, from epoch 2 on) end before the watermark of the epoch before
    // theirs, so they are dropped. The last watermark is the greatest time less the delay.
    let on_time: Vec<(String, i64)> = epochs
        .iter()
        .enumerate()
        .flat_map(|(e, clicks)| clicks.iter().filter(move |(_, t)| *t >= 10 * e as i64).cloned())
        .collect();
    let last_watermark = epochs.iter().flatten().map(|(_, t)| *t).max().expect("clicks") - DELAY;
    let expected: Vec<SessionRow> = sessions_of(on_time)
        .into_iter()
        .filter(|(_, _, end, _)| *end <= last_watermark)
        .collect();
    assert!(expected.iter().any(|(_, _, _, n)| *n > 1), "some clicks merge");
    for workers in [1, 2] {
        let ran = counted(workers, "append", true, &epochs);
        assert_eq!(session_rows(&ran.rows()), expected, "{workers} worker(s)");
        let dropped = ran.dropped_by_watermark();
        let late = epochs.iter().flatten().count()
            - epochs
                .iter()
                .enumerate()
                .map(|(e, c)| c.iter().filter(|(_, t)| *t >= 10 * e as i64).count())
                .sum::<usize>();
        assert!(late > 0, "the input has late clicks");
        assert_eq!(dropped, late as u64, "{workers} worker(s)");
    }
}

#[test]
fn complete_mode_keeps_every_session_and_merges_late_clicks_too() {
    let epochs = clicks(2, 6);
    let expected = sessions_of(epochs.iter().flatten().cloned());
    for workers in [1, 2] {
        let ran = counted(workers, "complete", true, &epochs);
        let last = ran.batch_rows().pop().expect("a batch");
        assert_eq!(session_rows(&last), expected, "{workers} worker(s)");
    }
}

#[test]
fn a_click_one_gap_after_the_last_joins_its_session_and_a_bridge_merges_two() {
    // u: 0 and 5 (exactly one gap later: one session [0, 10)); 20 and 30 apart; then 25
    // bridges them into [20, 35). Complete mode, one epoch each.
    let at = |s: i64| ("u".to_string(), s);
    let epochs = vec![vec![at(0), at(5)], vec![at(20), at(30)], vec![at(25)]];
    for workers in [1, 2] {
        let ran = counted(workers, "update", false, &epochs);
        let batches: Vec<Vec<SessionRow>> = ran.batch_rows().iter().map(|b| session_rows(b)).collect();
        let s = |start, end, n| ("u".to_string(), start, end, n);
        assert_eq!(
            batches,
            vec![
                vec![s(0, 10, 2)],
                vec![s(20, 25, 1), s(30, 35, 1)],
                // The two sessions are gone into one; update mode writes the new one.
                vec![s(20, 35, 3)],
            ],
            "{workers} worker(s)"
        );
    }
}

#[test]
fn a_session_window_is_only_a_grouping_key() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(schema());
    let error = spark
        .read_stream()
        .memory(&input)
        .select([session_window(col("ts"), "5 seconds")])
        .expect_err("not a key");
    assert_eq!(error.code(), "UNSUPPORTED_FEATURE", "{error}");
}
