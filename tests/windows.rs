//! Event-time tumbling windows: `window(time, duration)` as a grouping key, in update and
//! complete mode, with 1 and 2 workers, against counts per window computed in the test with
//! integer arithmetic; the window's fields; SQL; and the errors.

mod common;

use std::collections::BTreeMap;

use common::*;
use tidewater::prelude::*;

const SECOND: i64 = 1_000_000;

/// 2026-01-01 00:00:00 UTC in microseconds.
const T0: i64 = 1_767_225_600 * SECOND;

fn events_schema() -> Schema {
    Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
    ])
}

/// Events with a value: `(word, ts, v)`.
fn valued_events_schema() -> Schema {
    Schema::new([
        Field::new("word", DataType::String),
        Field::new("ts", DataType::Timestamp),
        Field::new("v", DataType::Int64),
    ])
}

/// Three epochs of `(word, seconds after T0)`, out of order within and across epochs; one
/// event without a time (it is in no window, and drops out, as in Spark).
fn epochs() -> Vec<Vec<(&'static str, Option<i64>)>> {
    vec![
        vec![("a", Some(1)), ("b", Some(12)), ("a", Some(9)), ("a", Some(10))],
        vec![("b", Some(3)), ("a", Some(25)), ("c", None)],
        vec![("a", Some(11)), ("b", Some(19)), ("b", Some(20))],
    ]
}

fn rows(epoch: &[(&str, Option<i64>)]) -> Vec<Row> {
    epoch
        .iter()
        .map(|(w, s)| {
            Row::from(vec![
                Value::str(w),
                s.map_or(Value::Null, |s| Value::Timestamp(T0 + s * SECOND)),
            ])
        })
        .collect()
}

/// Counts per `(window start in seconds after T0, word)` after each epoch, by integer division.
fn reference() -> Vec<BTreeMap<(Option<i64>, String), i64>> {
    let mut counts = BTreeMap::new();
    epochs()
        .iter()
        .map(|epoch| {
            // A row without a time is in no window.
            for (word, s) in epoch.iter().filter_map(|(w, s)| Some((w, (*s)?))) {
                *counts.entry((Some(s - s % 10), word.to_string())).or_insert(0) += 1;
            }
            counts.clone()
        })
        .collect()
}

/// A result row `(window{start, end}, word, count)` as `((start seconds, word), count)`,
/// checking that the window is ten seconds long.
fn keyed(row: &Row) -> ((Option<i64>, String), i64) {
    let start = match &row[0] {
        Value::Struct(fields) => {
            let (Value::Timestamp(start), Value::Timestamp(end)) = (&fields[0], &fields[1]) else {
                panic!("a window of two timestamps: {row:?}");
            };
            assert_eq!(end - start, 10 * SECOND, "ten-second windows");
            Some((start - T0) / SECOND)
        }
        Value::Null => None,
        other => panic!("a window struct, not {other:?}"),
    };
    let word = row[1].as_str().expect("word").to_string();
    ((start, word), row[2].as_i64().expect("count"))
}

fn windowed_counts(workers: usize, mode: &str) -> Vec<Vec<Row>> {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(events_schema());
    let counts = spark
        .read_stream()
        .memory(&input)
        .group_by([window(col("ts"), "10 seconds"), col("word")])
        .count()
        .expect("plan");
    assert_eq!(
        counts.schema().fields()[0].data_type.to_string(),
        "struct<start:timestamp,end:timestamp>"
    );
    assert_eq!(counts.schema().fields()[0].name, "window");
    let epochs = epochs().iter().map(|epoch| rows(epoch)).collect();
    run_to_end(
        counts.write_stream().output_mode(mode),
        Feed::Epochs(&input, epochs),
    )
    .batch_rows()
}

#[test]
fn complete_mode_counts_every_window_after_every_epoch() {
    for workers in [1, 2] {
        let batches = windowed_counts(workers, "complete");
        let got: Vec<BTreeMap<_, _>> = batches.iter().map(|b| b.iter().map(keyed).collect()).collect();
        assert_eq!(got, reference(), "{workers} worker(s)");
    }
}

#[test]
fn update_mode_shows_the_windows_an_epoch_changed() {
    let reference = reference();
    for workers in [1, 2] {
        let batches = windowed_counts(workers, "update");
        let mut before = BTreeMap::new();
        for (i, batch) in batches.iter().enumerate() {
            let changed: BTreeMap<_, _> = reference[i]
                .iter()
                .filter(|(k, v)| before.get(*k) != Some(*v))
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            let got: BTreeMap<_, _> = batch.iter().map(keyed).collect();
            assert_eq!(got, changed, "{workers} worker(s), epoch {i}");
            before = reference[i].clone();
        }
    }
    // By hand, epoch 1: b@0 (new) and a@20 (new); c has no time and no window.
    let batches = windowed_counts(1, "update");
    let keys: Vec<_> = batches[1].iter().map(|r| keyed(r).0).collect();
    assert_eq!(
        keys,
        vec![(Some(0), "b".to_string()), (Some(20), "a".to_string())]
    );
}

#[test]
fn the_windows_fields_can_be_selected() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(events_schema());
    let starts = spark
        .read_stream()
        .memory(&input)
        .group_by([window(col("ts"), "10 seconds"), col("word")])
        .count()
        .and_then(|df| {
            df.select([
                col("window.start"),
                col("window.end").alias("until"),
                col("word"),
                col("count"),
            ])
        })
        .expect("plan");
    let epoch = rows(&[("a", Some(1)), ("a", Some(9)), ("b", Some(12))]);
    let ran = run_to_end(
        starts.write_stream().output_mode("complete"),
        Feed::Epochs(&input, vec![epoch]),
    );
    let ts = |s: i64| Value::Timestamp(T0 + s * SECOND);
    assert_eq!(
        ran.batches()[0].1,
        vec![
            Row::from(vec![ts(0), ts(10), Value::str("a"), Value::Int(2)]),
            Row::from(vec![ts(10), ts(20), Value::str("b"), Value::Int(1)]),
        ]
    );
}

#[test]
fn the_console_shows_a_window_as_a_struct() {
    assert_eq!(
        Value::Struct(vec![Value::Timestamp(T0), Value::Timestamp(T0 + 10 * SECOND)].into()).to_string(),
        "{2026-01-01 00:00:00, 2026-01-01 00:00:10}"
    );
}

#[test]
fn sql_groups_by_window_and_reads_its_fields() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(events_schema());
    spark
        .read_stream()
        .memory(&input)
        .create_or_replace_temp_view("events");
    let counts = spark
        .sql(
            "SELECT w.start AS start, word, n FROM (SELECT window(ts, '10 seconds') AS w, word, count(*) AS n \
             FROM events GROUP BY window(ts, '10 seconds'), word) t WHERE word = 'a'",
        )
        .expect("plan");
    let epoch = rows(&[("a", Some(1)), ("a", Some(19)), ("b", Some(12)), ("a", Some(15))]);
    let ran = run_to_end(
        counts.write_stream().output_mode("complete"),
        Feed::Epochs(&input, vec![epoch]),
    );
    let ts = |s: i64| Value::Timestamp(T0 + s * SECOND);
    assert_eq!(
        ran.batches()[0].1,
        vec![
            Row::from(vec![ts(0), Value::str("a"), Value::Int(1)]),
            Row::from(vec![ts(10), Value::str("a"), Value::Int(2)]),
        ]
    );
}

#[test]
fn bad_windows_are_refused_with_clear_errors() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(events_schema());
    let df = spark.read_stream().memory(&input);
    let group = |e: Expr| {
        df.clone()
            .group_by([e])
            .count()
            .err()
            .map(|e| (e.code(), e.to_string()))
    };
    let (code, message) = group(window(col("word"), "10 seconds")).expect("a string is not a time");
    assert_eq!(code, "DATATYPE_MISMATCH", "{message}");
    let (code, message) = group(window(col("ts"), "ten seconds")).expect("not an interval");
    assert_eq!(code, "INVALID_OPTION", "{message}");
    let (code, message) = group(window(col("ts"), "0 seconds")).expect("an empty window");
    assert_eq!(code, "INVALID_FUNCTION_CALL", "{message}");
    let (code, message) =
        group(sliding_window(col("ts"), "5 seconds", "10 seconds")).expect("a slide longer than the window");
    assert_eq!(code, "INVALID_FUNCTION_CALL", "{message}");
    // A sliding window puts a row in several windows: only a grouping key can do that.
    let (code, message) = df
        .select([sliding_window(col("ts"), "10 seconds", "5 seconds")])
        .err()
        .map(|e| (e.code(), e.to_string()))
        .expect("a sliding window in select");
    assert_eq!(code, "UNSUPPORTED_FEATURE", "{message}");
    let (code, message) = df
        .clone()
        .group_by([window(col("ts"), "10 seconds")])
        .count()
        .and_then(|c| c.select([col("window.middle")]))
        .err()
        .map(|e| (e.code(), e.to_string()))
        .expect("no such field");
    assert_eq!(code, "UNRESOLVED_COLUMN");
    assert!(message.contains("start, end"), "{message}");
    // Append mode needs a watermark to know when a window is final; there is none yet.
    let counts = df
        .group_by([window(col("ts"), "10 seconds")])
        .count()
        .expect("plan");
    let error = counts
        .write_stream()
        .output_mode("append")
        .start()
        .expect_err("append refused");
    assert_eq!(error.code(), "UNSUPPORTED_OUTPUT_MODE");
}

/// `(window start in seconds after T0, word, count)`.
type WindowCount = (i64, String, i64);

/// Runs `epochs` of `(word, seconds after T0)` through a 10-second windowed count under a
/// 5-second watermark; returns every batch as `(window start seconds, word, count)` rows, and
/// the watermark each batch's progress reports.
fn watermarked(
    workers: usize,
    mode: &str,
    epochs: &[Vec<(&str, i64)>],
) -> (Vec<Vec<WindowCount>>, Vec<String>, Vec<u64>) {
    let spark = Session::builder()
        .workers(workers)
        .get_or_create()
        .expect("session");
    let input = MemoryStream::new(events_schema());
    let counts = spark
        .read_stream()
        .memory(&input)
        .with_watermark("ts", "5 seconds")
        .and_then(|df| {
            df.group_by([window(col("ts"), "10 seconds"), col("word")])
                .count()
        })
        .expect("plan");
    let epochs = epochs
        .iter()
        .map(|epoch| {
            let epoch: Vec<(&str, Option<i64>)> = epoch.iter().map(|(w, s)| (*w, Some(*s))).collect();
            rows(&epoch)
        })
        .collect();
    let ran = run_to_end(
        counts.write_stream().output_mode(mode),
        Feed::Epochs(&input, epochs),
    );
    let batches = ran
        .batch_rows()
        .into_iter()
        .map(|rows| {
            rows.iter()
                .map(|r| {
                    let ((start, word), n) = keyed(r);
                    (start.expect("a window"), word, n)
                })
                .collect()
        })
        .collect();
    let watermarks = ran
        .query
        .recent_progress()
        .iter()
        .map(|p| p.event_time.get("watermark").cloned().unwrap_or_default())
        .collect();
    let dropped = ran
        .query
        .recent_progress()
        .iter()
        .map(|p| {
            p.state_operators
                .iter()
                .map(|s| s.num_rows_dropped_by_watermark)
                .sum()
        })
        .collect();
    (batches, watermarks, dropped)
}

/// Worked out by hand (windows of 10 s, delay 5 s), by Spark's rule that a row is late only
/// for a window that ended at or before the watermark: epoch 0 sees up to 12 s, so epoch 1
/// runs under the watermark 7 s, and a@6 counts since [0, 10) ends at 10 s; epoch 1 sees 23 s
/// (watermark 18 s), which closes [0, 10). Under it a@3 is late ([0, 10) has ended), but b@16
/// counts although 16 s is before the watermark: [10, 20) is still open.
fn watermark_epochs() -> Vec<Vec<(&'static str, i64)>> {
    vec![
        vec![("a", 1), ("a", 4), ("b", 12)],
        vec![("a", 6), ("b", 15), ("a", 23)],
        vec![("b", 30), ("a", 3), ("b", 16)],
    ]
}

#[test]
fn append_mode_writes_each_window_once_when_the_watermark_passes_it() {
    for workers in [1, 2] {
        let (batches, watermarks, dropped) = watermarked(workers, "append", &watermark_epochs());
        let s = |w: &str| w.to_string();
        assert_eq!(
            batches,
            vec![
                vec![],                // epoch 0's data: no watermark yet
                vec![],                // without data: the watermark moved to 7 s
                vec![],                // epoch 1's data (7 s): a@6 counts, [0, 10) still open
                vec![(0, s("a"), 3)],  // without data: watermark 18 s closes [0, 10)
                vec![],                // epoch 2's data: a@3 late (18 s), b@16 counts
                vec![(10, s("b"), 3)], // without data: watermark 25 s closes [10, 20)
            ],
            "{workers} worker(s)"
        );
        let at = |s: i64| iso(T0 + s * SECOND);
        assert_eq!(
            watermarks,
            vec![iso(0), at(7), at(7), at(18), at(18), at(25)],
            "{workers} worker(s)"
        );
        // Spark's numRowsDroppedByWatermark: a@3, in epoch 2's data.
        assert_eq!(dropped, vec![0, 0, 0, 0, 1, 0], "{workers} worker(s)");
    }
}

#[test]
fn update_mode_under_a_watermark_drops_late_rows() {
    for workers in [1, 2] {
        let (batches, _, dropped) = watermarked(workers, "update", &watermark_epochs());
        let s = |w: &str| w.to_string();
        assert_eq!(
            batches,
            vec![
                vec![(0, s("a"), 2), (10, s("b"), 1)],
                // As in Spark's update mode, an epoch without data runs when the watermark
                // moves (to 7 s): it evicts state and writes nothing.
                vec![],
                // a@6 is older than the watermark (7 s), but [0, 10) is open: it counts.
                vec![(0, s("a"), 3), (10, s("b"), 2), (20, s("a"), 1)],
                vec![],
                // Watermark 18 s: a@3's window has closed, b@16's has not.
                vec![(10, s("b"), 3), (30, s("b"), 1)],
                vec![],
            ],
            "{workers} worker(s)"
        );
        assert_eq!(dropped.iter().sum::<u64>(), 1, "a@3 is dropped: {dropped:?}");
    }
}

#[test]
fn append_needs_a_window_of_the_watermarked_column() {
    let spark = Session::builder().get_or_create().expect("session");
    let input = MemoryStream::new(events_schema());
    let df = spark.read_stream().memory(&input);
    let error = df
        .with_watermark("word", "5 seconds")
        .err()
        .map(|e| e.code())
        .expect("a string column has no watermark");
    assert_eq!(error, "DATATYPE_MISMATCH");
    let by_word = df
        .with_watermark("ts", "5 seconds")
        .and_then(|d| d.group_by([col("word")]).count())
        .expect("plan");
    let refused = by_word
        .write_stream()
        .output_mode("append")
        .start()
        .expect_err("not a window");
    assert_eq!(refused.code(), "UNSUPPORTED_OUTPUT_MODE");
}

fn iso(micros: i64) -> String {
    let secs = micros.div_euclid(SECOND);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // T0 is 2026-01-01; the tests stay within its first minute, or at the Unix epoch.
    let date = match days {
        0 => "1970-01-01",
        20454 => "2026-01-01",
        other => panic!("day {other} is outside the tests' dates"),
    };
    format!(
        "{date}T{:02}:{:02}:{:02}.000Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

#[test]
fn sliding_windows_count_each_row_in_every_window_that_holds_it() {
    // Windows of 10 s every 5 s: a time t is in the windows starting at the multiples of 5 in
    // (t - 10, t].
    let mut reference: BTreeMap<(Option<i64>, String), i64> = BTreeMap::new();
    for epoch in epochs() {
        for (word, s) in epoch {
            let Some(s) = s else {
                continue;
            };
            for start in (s - 9..=s).filter(|x| x.rem_euclid(5) == 0) {
                *reference.entry((Some(start), word.to_string())).or_insert(0) += 1;
            }
        }
    }
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(events_schema());
        let counts = spark
            .read_stream()
            .memory(&input)
            .group_by([sliding_window(col("ts"), "10 seconds", "5 seconds"), col("word")])
            .count()
            .expect("plan");
        assert_eq!(
            counts.schema().names(),
            vec!["window".to_string(), "word".to_string(), "count".to_string()]
        );
        let epochs = epochs().iter().map(|epoch| rows(epoch)).collect();
        let ran = run_to_end(
            counts.write_stream().output_mode("complete"),
            Feed::Epochs(&input, epochs),
        );
        let last: BTreeMap<_, _> = ran
            .batches()
            .last()
            .expect("a batch")
            .1
            .iter()
            .map(keyed)
            .collect();
        assert_eq!(last, reference, "{workers} worker(s)");
    }
}

/// The windowed word count example (`examples/windowed_wordcount.rs`) against a local server:
/// with 10-second windows every 5 seconds, each word is in exactly two windows, so the counts
/// of the last (complete) table add up to twice the reference count of every word.
#[test]
fn the_windowed_example_counts_every_word_in_two_windows() {
    let lines = word_lines(21, 300);
    let server = tidewater::demo::TextServer::start(lines.clone(), 60, std::time::Duration::from_millis(5))
        .expect("server starts");
    let exe = std::env::current_exe().expect("test executable");
    let example = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("examples").join("windowed_wordcount"))
        .expect("target directory");
    assert!(
        example.exists(),
        "{} is missing: run `cargo build --examples`",
        example.display()
    );
    let output = std::process::Command::new(example)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &server.port().to_string(),
            "--workers",
            "2",
            "--num-rows",
            "1000",
        ])
        .output()
        .expect("example runs");
    server.join().expect("server sent everything");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    let last = stdout.rsplit("Batch: ").next().expect("a batch");
    let mut totals: BTreeMap<String, i64> = BTreeMap::new();
    for line in last.lines().filter(|l| l.starts_with('|')).skip(1) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim_end).collect();
        let [window, word, count] = cells[..] else {
            panic!("three columns: {line}");
        };
        assert!(window.starts_with('{') && window.ends_with('}'), "{window}");
        *totals.entry(word.to_string()).or_insert(0) += count.trim().parse::<i64>().expect("count");
    }
    let doubled: BTreeMap<String, i64> = reference_counts(&lines)
        .into_iter()
        .map(|(w, n)| (w, 2 * n))
        .collect();
    assert_eq!(totals, doubled);
}

/// A window's start and word, and its count.
type KeyedCount = ((Option<i64>, String), i64);

#[test]
fn a_row_is_late_only_for_its_sliding_windows_that_have_ended() {
    // Windows of 10 s every 5 s under a 5-second watermark, in update mode. Epoch 0 sees
    // 13 s, so the watermark moves to 8 s. Then a@3 is in [-5, 5), which ended at 5 s (late,
    // dropped), and in [0, 10), which ends at 10 s (open: it counts).
    for workers in [1, 2] {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(events_schema());
        let counts = spark
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .and_then(|df| {
                df.group_by([sliding_window(col("ts"), "10 seconds", "5 seconds"), col("word")])
                    .count()
            })
            .expect("plan");
        let epochs = vec![rows(&[("b", Some(13))]), rows(&[("a", Some(3))])];
        let ran = run_to_end(
            counts.write_stream().output_mode("update"),
            Feed::Epochs(&input, epochs),
        );
        let batches: Vec<Vec<KeyedCount>> = ran
            .batch_rows()
            .iter()
            .map(|rows| rows.iter().map(keyed).collect())
            .collect();
        let w = |start: i64, word: &str, n: i64| ((Some(start), word.to_string()), n);
        // The watermark moves to 8 s after epoch 0: an epoch without data runs, and epoch 1's
        // rows are judged by it.
        assert_eq!(
            batches,
            vec![vec![w(5, "b", 1), w(10, "b", 1)], vec![], vec![w(0, "a", 1)]],
            "{workers} worker(s)"
        );
        let dropped = ran.dropped_by_watermark();
        assert_eq!(dropped, 1, "a@3 in [-5, 5)");
    }
}

/// The group-by keys `window` and `word`, the window first or second.
fn window_and_word(window: Expr, window_first: bool) -> Vec<Expr> {
    if window_first {
        vec![window, col("word")]
    } else {
        vec![col("word"), window]
    }
}

/// Each batch's rows of a query grouped by a window and one other key, sorted, with the window
/// first: the first two columns swapped back where the window was the second key.
fn batches_window_first(ran: &Ran, window_first: bool) -> Vec<Vec<Row>> {
    ran.batch_rows()
        .into_iter()
        .map(|rows| {
            let mut rows: Vec<Row> = rows
                .into_iter()
                .map(|row| {
                    let mut values: Vec<Value> = row.iter().cloned().collect();
                    if !window_first {
                        values.swap(0, 1);
                    }
                    Row::from(values)
                })
                .collect();
            rows.sort();
            rows
        })
        .collect()
}

/// Random events, some late, some without a time, a key or a value, through two forms of one
/// windowed aggregation: grouped by the window first (folded by window start) and by the window
/// second (the general fold, whose rows are built per window). Epoch by epoch, in append and
/// update mode, with tumbling and sliding windows, a filter and several aggregates (`max_by`'s
/// argument an expression of two columns), on 1, 2 and 4 workers, both write the same rows, the
/// columns swapped.
#[test]
fn windowed_aggregates_agree_whichever_key_comes_first() {
    let schema = valued_events_schema();
    let mut rng = Seeded::new(7);
    let words = ["a", "b", "c", "dd", "a longer word than inline"];
    let epochs: Vec<Vec<Row>> = (0..12)
        .map(|epoch| {
            (0..40)
                .map(|_| {
                    let word = match rng.below(10) {
                        0 => Value::Null,
                        _ => Value::str(words[rng.below(words.len() as u64) as usize]),
                    };
                    // Times move on 6 s an epoch, up to 12 s behind: some rows are late.
                    let ts = match rng.below(15) {
                        0 => Value::Null,
                        _ => Value::Timestamp(T0 + (6 * epoch + rng.below(13) as i64 - 6) * SECOND + 1234),
                    };
                    let v = match rng.below(6) {
                        0 => Value::Null,
                        _ => Value::Int(rng.below(100) as i64 - 20),
                    };
                    Row::from(vec![word, ts, v])
                })
                .collect()
        })
        .collect();
    let run = |workers: usize, mode: &str, window_first: bool, sliding: bool| -> Vec<Vec<Row>> {
        let spark = Session::builder()
            .workers(workers)
            .get_or_create()
            .expect("session");
        let input = MemoryStream::new(schema.clone());
        let window = if sliding {
            sliding_window(col("ts"), "10 seconds", "4 seconds")
        } else {
            window(col("ts"), "10 seconds")
        };
        let keys = window_and_word(window, window_first);
        let aggregated = spark
            .read_stream()
            .memory(&input)
            .with_watermark("ts", "5 seconds")
            .and_then(|df| df.filter(col("v").gt(0).or(col("v").is_null())))
            .and_then(|df| {
                df.group_by(keys).agg([
                    count(col("*")),
                    count(col("v")),
                    sum(col("v")),
                    avg(col("v")),
                    max(col("v")),
                    min(col("word")),
                    max_by(col("word"), col("v")),
                    min_by(col("v"), col("word")),
                ])
            })
            .expect("plan");
        if window_first {
            let explained = aggregated.explain();
            assert!(explained.contains("by window start"), "{explained}");
        }
        let ran = run_to_end(
            aggregated.write_stream().output_mode(mode),
            Feed::Epochs(&input, epochs.clone()),
        );
        batches_window_first(&ran, window_first)
    };
    for mode in ["append", "update"] {
        for sliding in [false, true] {
            let general = run(1, mode, false, sliding);
            let written: usize = general.iter().map(Vec::len).sum();
            assert!(
                written >= 30,
                "{mode}, sliding {sliding}: {written} rows, too few to compare"
            );
            for workers in [1, 2, 4] {
                assert_eq!(
                    run(workers, mode, true, sliding),
                    general,
                    "{mode} mode, sliding {sliding}, {workers} worker(s)"
                );
            }
        }
    }
}

/// In complete mode, and without a watermark, every window is kept: an aggregation in the
/// common shape folds each row into its windows' groups by their start, whether the window is
/// the first key or not, and after a projection (here of the time the windows are of). The
/// fold computes that time itself, no row built per event; a filter of the computed time
/// (which keeps every row that has one) leaves the projection to build its rows first. Each
/// epoch's table, either way, is the reference's, computed here from the rows with integer
/// arithmetic: sliding windows of 10 s every 4 s, each row in those with `start <= t < start +
/// 10 s`.
#[test]
fn kept_windows_fold_by_start_whichever_key_comes_first() {
    let schema = valued_events_schema();
    let mut rng = Seeded::new(11);
    let words = ["a", "b", "a longer word than inline"];
    type Event = (Option<&'static str>, Option<i64>, Option<i64>);
    let epochs: Vec<Vec<Event>> = (0..8)
        .map(|epoch| {
            (0..30)
                .map(|_| {
                    let word = (rng.below(8) != 0).then(|| words[rng.below(3) as usize]);
                    // Milliseconds after T0, out of order, some before T0.
                    let ms =
                        (rng.below(12) != 0).then(|| (6 * epoch + rng.below(13) as i64 - 6) * 1000 + 321);
                    let v = (rng.below(6) != 0).then(|| rng.below(100) as i64 - 20);
                    (word, ms, v)
                })
                .collect()
        })
        .collect();
    // The windows' time is `ts + 1 second`, a projection before the windows.
    // (word, window start in ms) -> (count(*), sum(v), max(v)).
    type Figures = (i64, Option<i64>, Option<i64>);
    let mut table: BTreeMap<(Option<String>, i64), Figures> = BTreeMap::new();
    let reference: Vec<Vec<Row>> = epochs
        .iter()
        .map(|epoch| {
            for (word, ms, v) in epoch {
                let Some(ms) = ms.map(|ms| ms + 1000) else {
                    continue;
                };
                let last = ms - ms.rem_euclid(4000);
                for start in (0..3).map(|k| last - k * 4000).filter(|s| ms < s + 10_000) {
                    let slot = table
                        .entry((word.map(str::to_string), start))
                        .or_insert((0, None, None));
                    slot.0 += 1;
                    if let Some(v) = v {
                        slot.1 = Some(slot.1.unwrap_or(0) + v);
                        slot.2 = Some(slot.2.map_or(*v, |m: i64| m.max(*v)));
                    }
                }
            }
            table
                .iter()
                .map(|((word, start), (n, total, most))| {
                    let micros = T0 + start * 1000;
                    let window = Value::window(micros, micros + 10 * SECOND);
                    let int = |v: &Option<i64>| v.map_or(Value::Null, Value::Int);
                    let word = word.as_deref().map_or(Value::Null, Value::str);
                    Row::from(vec![window, word, Value::Int(*n), int(total), int(most)])
                })
                .collect::<std::collections::BTreeSet<Row>>()
                .into_iter()
                .collect()
        })
        .collect();
    assert!(
        reference.last().is_some_and(|t| t.len() >= 30),
        "enough groups to compare"
    );
    let as_rows = |epoch: &[Event]| -> Vec<Row> {
        epoch
            .iter()
            .map(|(word, ms, v)| {
                Row::from(vec![
                    word.map_or(Value::Null, Value::str),
                    ms.map_or(Value::Null, |ms| Value::Timestamp(T0 + ms * 1000)),
                    v.map_or(Value::Null, Value::Int),
                ])
            })
            .collect()
    };
    let cases = [true, false]
        .into_iter()
        .flat_map(|window_first| [(window_first, true), (window_first, false)]);
    for (window_first, time_in_fold) in cases {
        for workers in [1, 2, 4] {
            let spark = Session::builder()
                .workers(workers)
                .get_or_create()
                .expect("session");
            let input = MemoryStream::new(schema.clone());
            let window = sliding_window(col("t"), "10 seconds", "4 seconds");
            let keys = window_and_word(window, window_first);
            let aggregated = spark
                .read_stream()
                .memory(&input)
                .with_column("t", expr("ts + INTERVAL 1 SECOND").expect("expr"))
                .and_then(|df| {
                    if time_in_fold {
                        Ok(df)
                    } else {
                        df.filter(col("t").is_not_null())
                    }
                })
                .and_then(|df| {
                    df.group_by(keys)
                        .agg([count(col("*")), sum(col("v")), max(col("v"))])
                })
                .expect("plan");
            let explained = aggregated.explain();
            assert!(explained.contains("by window start"), "{explained}");
            assert_eq!(
                explained.contains("no row built per window or per event"),
                time_in_fold,
                "{explained}"
            );
            let ran = run_to_end(
                aggregated.write_stream().output_mode("complete"),
                Feed::Epochs(&input, epochs.iter().map(|e| as_rows(e)).collect()),
            );
            let batches = batches_window_first(&ran, window_first);
            assert_eq!(batches.len(), reference.len(), "one table an epoch");
            for (epoch, (got, expected)) in batches.iter().zip(&reference).enumerate() {
                let missing: Vec<&Row> = expected.iter().filter(|r| !got.contains(r)).collect();
                let extra: Vec<&Row> = got.iter().filter(|r| !expected.contains(r)).collect();
                assert!(
                    missing.is_empty() && extra.is_empty(),
                    "window first: {window_first}, time in the fold: {time_in_fold}, \
                     {workers} worker(s), epoch {epoch}: missing {missing:?}, extra {extra:?}"
                );
                assert_eq!(got, expected, "the same rows, in order");
            }
        }
    }
}
